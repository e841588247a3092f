import { dirname, join } from 'node:path';

/** Files of `@asyncapi/react-component` the page loads, by the name it asks for: nothing from a CDN. */
const COMPONENT_DIRECTORY = dirname(require.resolve('@asyncapi/react-component/package.json'));

export interface PageAsset {
  path?: string;
  text?: string;
  contentType: string;
}

/**
 * `GET /asyncapi/assets/<name>`: the component's standalone bundle (React and the AsyncAPI parser
 * included; it fetches and parses `/asyncapi.json` in the browser), its stylesheet, and the
 * script that starts it (a file, not an inline <script>: the CSP allows scripts from this origin only).
 */
export const PAGE_ASSETS: ReadonlyMap<string, PageAsset> = new Map([
  ['asyncapi-standalone.js', { path: join(COMPONENT_DIRECTORY, 'browser', 'standalone', 'index.js'), contentType: 'text/javascript; charset=utf-8' }],
  ['asyncapi-default.min.css', { path: join(COMPONENT_DIRECTORY, 'styles', 'default.min.css'), contentType: 'text/css; charset=utf-8' }],
  [
    'asyncapi-page.js',
    {
      contentType: 'text/javascript; charset=utf-8',
      // Relative URLs throughout: the page works under any path prefix a proxy puts in front.
      text: `AsyncApiStandalone.render(
  {
    schema: { url: new URL('asyncapi.json', document.baseURI).href, requestOptions: { headers: { accept: 'application/json' } } },
    config: { show: { sidebar: true, errors: true }, sidebar: { showOperations: 'byDefault' } },
  },
  document.getElementById('asyncapi'),
);
`,
    },
  ],
]);

/** `GET /asyncapi`: the event catalogue, rendered in the browser from `/asyncapi.json`. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Integration events · AsyncAPI</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="asyncapi/assets/asyncapi-default.min.css">
  </head>
  <body>
    <noscript>This page renders <a href="asyncapi.json">asyncapi.json</a> with JavaScript.</noscript>
    <div id="asyncapi"></div>
    <script src="asyncapi/assets/asyncapi-standalone.js"></script>
    <script src="asyncapi/assets/asyncapi-page.js"></script>
  </body>
</html>
`;
