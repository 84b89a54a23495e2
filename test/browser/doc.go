// Package browser drives easel's real pages in a real Chromium (Debian's
// chromium, through chromedp) against a local cluster: three `easel serve`
// replicas behind nginx and a real redis-server. Its tests walk the user's
// journey — upload, edit, undo, composite, download — by the page's own
// controls and keyboard, check basic accessibility on every page, and save
// a screenshot and the HTML of the page under test/artifacts when they
// fail. The screenshots command (`make screenshots`) runs the same journey
// to refresh the pictures in docs/img.
package browser
