'use strict'

const http = require('http')
const https = require('https')
const { WebSocketServer } = require('ws')
const { Queue } = require('./queue')
const { deferred, withGuard } = require('./wait')
const { trackSockets, listen, closer } = require('./net_server')
const { credentials } = require('./tls')

/**
 * A `ws` package server (a real, independent peer for WebSocket.Client) on
 * 127.0.0.1, port 0, over http or https with the fixture certificates.
 *
 *   secure       https with the fixture certificate (default false)
 *   certificate  'signed' (by the fixture CA, default) or 'self-signed'
 *   setup        (ws, request) => void, run on each connection
 *   refuse       an HTTP status: every upgrade is refused with it
 *   wsOptions    extra WebSocketServer options (handleProtocols, maxPayload…)
 *
 * Returns { url, port, server, wss, nextConnection(), connections,
 * servernames (SNI of each TLS connection), close() }. url is
 * ws://127.0.0.1:PORT or wss://localhost:PORT (the certificate's DNS name).
 * nextConnection() resolves with { ws, request, messages (Queue of
 * { data, isBinary, text }), pings (Queue of strings), closed, waitClosed() }.
 */
async function startWsServer ({ secure = false, certificate = 'signed', setup, refuse, wsOptions = {} } = {}) {
  const servernames = []
  const connections = new Queue('a connection on the ws server')
  const all = []

  const server = secure ? https.createServer(credentials(certificate)) : http.createServer()
  server.on('request', (req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain' })
    res.end('not found')
  })
  const sockets = trackSockets(server)
  server.on('secureConnection', (socket) => servernames.push(socket.servername))
  // A client that fails certificate verification leaves a TLS error here.
  server.on('tlsClientError', () => {})

  const verifyClient = refuse ? (info, callback) => callback(false, refuse) : undefined
  const wss = new WebSocketServer({ server, perMessageDeflate: false, verifyClient, ...wsOptions })

  wss.on('connection', (ws, request) => {
    const messages = new Queue('a message on the ws server')
    const pings = new Queue('a ping on the ws server')
    const closed = deferred()
    ws.on('message', (data, isBinary) => {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.concat([].concat(data))
      messages.push({ data: buffer, isBinary, text: isBinary ? null : buffer.toString('utf8') })
    })
    ws.on('ping', (data) => pings.push(data.toString('utf8')))
    ws.on('error', () => {})
    ws.on('close', (code, reason) => closed.resolve({ code, reason: reason.toString('utf8') }))
    const connection = {
      ws,
      request,
      messages,
      pings,
      closed: closed.promise,
      waitClosed: () => withGuard(closed.promise, 'the ws server connection to close')
    }
    all.push(connection)
    if (setup) setup(ws, request)
    connections.push(connection)
  })

  const port = await listen(server)
  const close = closer([wss, server], sockets, {
    before: () => { for (const { ws } of all) ws.terminate() },
    order: 10 // after peers and clients
  })

  return {
    port,
    url: secure ? `wss://localhost:${port}` : `ws://127.0.0.1:${port}`,
    server,
    wss,
    servernames,
    connections: all,
    nextConnection: (ms) => connections.next(ms),
    close
  }
}

/** An echo server: every message goes back with its type. */
function echo (ws) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
}

module.exports = { startWsServer, echo }
