'use strict'
// Demo: a WebSocket echo and an EventSource stream, side by side on one page.
//
//   npm start              (or: PORT=9000 node demo/server.js)
//
// Serves demo/index.html on http://127.0.0.1:PORT/, echoes every message that
// page sends over its WebSocket, and sends every EventSource client a `tick`
// event once a second with an incrementing id.

const fs = require('fs')
const http = require('http')
const path = require('path')
const WebSocket = require('..')

const HOST = '127.0.0.1'
const PORT = Number(process.env.PORT || 8000)
const PAGE = path.join(__dirname, 'index.html')

const sockets = new Set()
const streams = new Set()
let stopping = false
let tick = 0

const server = http.createServer((req, res) => {
  if (WebSocket.EventSource.isEventSource(req)) return openStream(req, res)
  if (req.method !== 'GET' || (req.url !== '/' && req.url !== '/index.html')) {
    res.writeHead(404, { 'Content-Type': 'text/plain' })
    return res.end('Not found\n')
  }
  fs.readFile(PAGE, (err, html) => {
    if (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' })
      return res.end('Cannot read index.html\n')
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    res.end(html)
  })
})

// EventSource: browsers reconnect 2 s after the stream ends, sending the last
// id they saw as Last-Event-ID.
function openStream (req, res) {
  const es = new WebSocket.EventSource(req, res, { retry: 2, ping: 15 })
  streams.add(es)
  const resumed = es.lastEventId ? `, resuming after id ${es.lastEventId}` : ''
  console.log(`stream open   (${streams.size} streaming${resumed})`)
  es.on('close', () => {
    streams.delete(es)
    console.log(`stream close  (${streams.size} streaming)`)
    maybeExit()
  })
}

const ticker = setInterval(() => {
  tick += 1
  const time = new Date().toLocaleTimeString('en-GB')
  for (const es of streams) es.send(`tick ${tick} at ${time}`, { event: 'tick', id: tick })
}, 1000)

server.on('upgrade', (req, socket, body) => {
  if (!WebSocket.isWebSocket(req)) return socket.end()

  const ws = new WebSocket(req, socket, body)
  sockets.add(ws)
  console.log(`open   (${sockets.size} connected)`)

  ws.on('message', (event) => ws.send(event.data))

  ws.on('close', (event) => {
    sockets.delete(ws)
    const reason = event.reason ? ` ${event.reason}` : ''
    console.log(`close  ${event.code}${reason} (${sockets.size} connected)`)
    maybeExit()
  })
})

server.on('error', (err) => {
  console.error(`demo: ${err.message}`)
  process.exit(1)
})

server.listen(PORT, HOST, () => {
  console.log(`Demo running at http://${HOST}:${server.address().port}/ (Ctrl+C to stop)`)
})

function maybeExit () {
  if (stopping && sockets.size === 0 && streams.size === 0) process.exit(0)
}

// Ctrl+C: stop accepting, end every stream, close every WebSocket with 1000 and
// exit once the last one has closed. A second Ctrl+C, or a peer that does not
// answer the close within 2 s, ends the process at once.
function shutdown () {
  if (stopping || (sockets.size === 0 && streams.size === 0)) process.exit(0)
  stopping = true
  console.log(`\nClosing ${sockets.size} connection(s) and ${streams.size} stream(s)`)
  clearInterval(ticker)
  server.close()
  for (const es of streams) es.close()
  for (const ws of sockets) ws.close()
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
