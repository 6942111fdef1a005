// Where the pages find the API and the sign-in. A deploy rewrites this one file; the
// pages themselves never change between environments.
//
// apiBase:  "" means the same origin as the pages (the offline twin serves both);
//           a deploy sets the API's URL, e.g. "https://api.community.example.org/prod".
// cognito:  the user pool's region and app client id (USER_PASSWORD_AUTH). endpoint is
//           optional: "" means https://cognito-idp.<region>.amazonaws.com/.
// twinConfig: the offline twin's /_local/config. Only the twin has it; when cognito is
//           not set here, the pages read the region, client id and moto's endpoint
//           from it.
export default {
  apiBase: "",
  cognito: { region: "", clientId: "", endpoint: "" },
  twinConfig: "/_local/config",
};
