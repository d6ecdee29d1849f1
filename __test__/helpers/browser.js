'use strict'

// Headless Chromium (Debian's `chromium` package) driven by playwright-core,
// for tests with a real browser as the peer. scripts/install-browser.sh
// installs the browser; suites skip only when it is missing.

const fs = require('fs')

const CHROMIUM = '/usr/bin/chromium'

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

function haveChromium () {
  return fs.existsSync(CHROMIUM)
}

/**
 * Launches Chromium. Playwright gives it a fresh temporary profile and removes
 * it on close(); each test then opens its own context (cookies, cache).
 */
async function launchBrowser () {
  const { chromium } = require('playwright-core')
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS })
}

// The page the tests drive. Its helpers time out with a message naming what
// was awaited, so a missing event fails the test instead of hanging it.
const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>faye-websocket-native browser test</title></head>
<body>
<script>
  window.within = (ms, label, promise) => Promise.race([promise, new Promise((resolve, reject) =>
    setTimeout(() => reject(new Error('timed out in the page waiting for ' + label)), ms))])

  // Resolves with an open WebSocket (binary messages as ArrayBuffer).
  window.openSocket = (url, protocols) => within(5000, 'the WebSocket to open', new Promise((resolve, reject) => {
    const ws = protocols ? new WebSocket(url, protocols) : new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => resolve(ws)
    ws.onclose = (event) => reject(new Error('closed before open: ' + event.code))
  }))

  // Resolves with the next count messages' data.
  window.nextMessages = (ws, count) => within(10000, count + ' messages', new Promise((resolve) => {
    const received = []
    ws.onmessage = (event) => {
      received.push(event.data)
      if (received.length === count) resolve(received)
    }
  }))

  window.whenClosed = (ws) => within(5000, 'the close event', new Promise((resolve) => {
    ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean }))
  }))
</script>
</body>
</html>
`

function servePage (request, response) {
  response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
  response.end(PAGE)
}

module.exports = { CHROMIUM, LAUNCH_ARGS, haveChromium, launchBrowser, servePage, PAGE }
