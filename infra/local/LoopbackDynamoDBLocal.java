// Starts DynamoDB Local listening on 127.0.0.1 only.
//
// DynamoDB Local has a -port option but no bind-address option: its Jetty server listens on
// every interface. This launcher builds the server exactly as DynamoDB Local's own main does
// (same command-line options), points its connectors at the loopback address, then starts it.
//
// First run, in Java's single-file source mode (no build step, no javac needed):
//
//   java -Djava.library.path=<dir>/DynamoDBLocal_lib -cp <dir>/DynamoDBLocal.jar \
//        infra/local/LoopbackDynamoDBLocal.java --cache <classes dir> -port 8000 -inMemory
//
// With --cache, once the server is up, the launcher compiles itself into <classes dir> (in
// the background), so later starts skip the compilation:
//
//   java ... -cp <dir>/DynamoDBLocal.jar:<classes dir> LoopbackDynamoDBLocal -port 8000 ...
//
// If a future DynamoDB Local changes its internals, this prints a warning and starts the
// server anyway (listening as DynamoDB Local itself would).

import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        String cache = null;
        String source = null;
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        while (rest.size() >= 2 && rest.get(0).startsWith("--")) {
            if (rest.get(0).equals("--cache")) {
                cache = rest.get(1);
            } else if (rest.get(0).equals("--source")) {
                source = rest.get(1);
            } else {
                break;
            }
            rest = rest.subList(2, rest.size());
        }

        Class<?> runner = Class.forName("software.amazon.dynamodb.services.local.main.ServerRunner");
        Method create = runner.getMethod("createServerFromCommandLineArgs", String[].class);
        Object proxy = create.invoke(null, (Object) rest.toArray(new String[0]));
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

        if (cache != null && source != null) {
            String dir = cache;
            String file = source;
            Thread compile = new Thread(() -> compileInto(dir, file), "compile-launcher");
            compile.setDaemon(true);
            compile.setPriority(Thread.MIN_PRIORITY);
            compile.start();
        }
    }

    // Compiles this file into dir (written elsewhere first, then moved, so a concurrent
    // start never sees half a class file). Failure only means the next start compiles again.
    private static void compileInto(String dir, String source) {
        try {
            javax.tools.JavaCompiler compiler = javax.tools.ToolProvider.getSystemJavaCompiler();
            if (compiler == null) {
                return;
            }
            Path target = Path.of(dir);
            Files.createDirectories(target.getParent());
            Path work = Files.createTempDirectory(target.getParent(), "compile-");
            String classpath = System.getProperty("java.class.path");
            int status = compiler.run(null, null, null, "-nowarn", "-d", work.toString(),
                "-cp", classpath, source);
            if (status == 0) {
                try {
                    Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (java.io.IOException e) {
                    deleteTree(work.toFile());  // another start got there first
                }
            } else {
                deleteTree(work.toFile());
            }
        } catch (Exception e) {
            System.err.println("note: could not cache the compiled launcher: " + e);
        }
    }

    private static void deleteTree(File file) {
        File[] children = file.listFiles();
        if (children != null) {
            for (File child : children) {
                deleteTree(child);
            }
        }
        file.delete();
    }
}
