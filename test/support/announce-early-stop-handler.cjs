// Preloaded (--require) into a built app by a test that must signal it while it loads: writes a
// line to stderr the moment the app's early stop handler (src/shared/early-stop-signals.ts)
// listens for SIGTERM. A signal sent after that line never meets the default action (death), and
// the app is still loading (the handler is main.ts's first import), so the test needs no delay.
'use strict';
const listen = process.on;
let announced = false;
process.on = function on(event, listener) {
  const result = listen.call(this, event, listener);
  if (!announced && event === 'SIGTERM' && listener.name === 'exitWhileLoading') {
    announced = true;
    process.stderr.write('test preload: early stop handler installed\n');
  }
  return result;
};
