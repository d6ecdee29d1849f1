'use strict'

const impl = require('./impl')
const { record } = require('./server')
const { withGuard } = require('./wait')
const { track } = require('./cleanup')

/**
 * Constructs a WebSocket.Client (this package's, or faye's under
 * WS_IMPL=faye, or the `Client` given) and records every event it emits,
 * from construction on: { ws, log, messages, opened, closed, waitOpen(),
 * waitClosed(), sequence() } as record() in server.js returns them.
 *
 * Cleanup drops the client's TCP connection if it is still up and waits for
 * its close event, so no test leaves a socket behind.
 */
function openClient (url, protocols, options, { Client = impl.WebSocket.Client } = {}) {
  const ws = new Client(url, protocols, options)
  const recorded = record(ws, 'the client')
  track(async () => {
    if (ws.readyState === 3) return
    if (ws._stream) ws._stream.destroy()
    await withGuard(recorded.closed, 'the client to close during cleanup')
  }, 0)
  return { ws, ...recorded }
}

module.exports = { openClient }
