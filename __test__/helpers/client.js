'use strict'

const WS = require('ws')
const { Queue } = require('./queue')
const { deferred, waitFor, withGuard } = require('./wait')
const { track } = require('./cleanup')

/**
 * A `ws` package client (a real, independent peer). Records everything it
 * receives from the moment of construction.
 *
 * Returns { ws, messages (Queue of { data, isBinary, text }), pings (Queue),
 * opened, closed ({ code, reason }), upgrade (the 101 response) }.
 */
function connectClient (url, protocols, options = {}) {
  const ws = new WS(url, protocols, { perMessageDeflate: false, ...options })
  const messages = new Queue('a message on the ws client')
  const pings = new Queue('a ping on the ws client')
  const closed = deferred()
  const upgrade = deferred()
  const errors = []

  ws.on('upgrade', (response) => upgrade.resolve(response))
  ws.on('message', (data, isBinary) => {
    const buffer = Buffer.isBuffer(data) ? data : Buffer.concat([].concat(data))
    messages.push({ data: buffer, isBinary, text: isBinary ? null : buffer.toString('utf8') })
  })
  ws.on('ping', (data) => pings.push(data.toString('utf8')))
  ws.on('error', (error) => errors.push(error))
  ws.on('close', (code, reason) => closed.resolve({ code, reason: reason.toString('utf8') }))

  track(() => {
    if (ws.readyState !== WS.CLOSED) {
      ws.terminate()
      return closed.promise
    }
  }, 0)

  const opened = waitFor(ws, 'open', { label: 'the ws client to open' })
  opened.catch(() => {})

  return {
    ws,
    messages,
    pings,
    errors,
    opened,
    closed: closed.promise,
    waitClosed: () => withGuard(closed.promise, 'the ws client to close'),
    upgrade: upgrade.promise,
    send: (data, opts) => new Promise((resolve, reject) => ws.send(data, opts || {}, (e) => (e ? reject(e) : resolve())))
  }
}

module.exports = { connectClient, WS }
