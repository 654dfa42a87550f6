/* locale.js -- loaded before uPlot: the browser's language as Intl takes it.
 *
 * uPlot formats its numbers with new Intl.NumberFormat(navigator.language),
 * made once as it loads.  WebKitGTK run under the POSIX locale (LANG=C or
 * C.UTF-8, as on many servers and in containers) reports that locale's name
 * as navigator.language, which is no BCP 47 tag: the constructor throws a
 * RangeError, uPlot does not load, and the host's page has no plot.  Such a
 * language is replaced by uPlot's own default, "en-US". */
(function () {
  "use strict";
  try {
    new Intl.NumberFormat(navigator.language);
  } catch (e) {
    Object.defineProperty(navigator, "language", { value: "en-US", configurable: true });
  }
})();
