// Starts DynamoDB Local listening on 127.0.0.1 only.
//
// DynamoDB Local has a -port option but no bind-address option: its Jetty server listens on
// every interface. This launcher builds the server exactly as DynamoDB Local's own main does
// (same command-line options), points its connectors at the loopback address, then starts it.
// Run in Java's single-file source mode (no build step):
//
//   java -Djava.library.path=<dir>/DynamoDBLocal_lib -cp <dir>/DynamoDBLocal.jar \
//        infra/local/LoopbackDynamoDBLocal.java -port 8000 -inMemory
//
// If a future DynamoDB Local changes its internals, this prints a warning and starts the
// server anyway (listening as DynamoDB Local itself would).

import java.lang.reflect.Field;
import java.lang.reflect.Method;

public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        Class<?> runner = Class.forName("software.amazon.dynamodb.services.local.main.ServerRunner");
        Method create = runner.getMethod("createServerFromCommandLineArgs", String[].class);
        Object proxy = create.invoke(null, (Object) args);
        try {
            Field field = proxy.getClass().getDeclaredField("server");
            field.setAccessible(true);
            Object server = field.get(proxy);
            Object[] connectors = (Object[]) server.getClass().getMethod("getConnectors").invoke(server);
            for (Object connector : connectors) {
                connector.getClass().getMethod("setHost", String.class).invoke(connector, "127.0.0.1");
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("warning: DynamoDB Local may listen on every interface: " + e);
        }
        proxy.getClass().getMethod("start").invoke(proxy);
        System.out.println("DynamoDB Local listening on 127.0.0.1");
    }
}
