// Code written for faye-websocket, as a TypeScript app or a dependent has it, importing
// 'faye-websocket': with the alias or the override from the README, TypeScript resolves
// that name to this package's index.d.ts, and this must compile unchanged.

import WebSocket = require('faye-websocket')
import * as FayeNamespace from 'faye-websocket'
import FayeDefault from 'faye-websocket'
import http = require('http')
import net = require('net')

const sockets: WebSocket[] = []

function onUpgrade (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
  if (!WebSocket.isWebSocket(req)) return socket.destroy() as unknown as void
  const ws = new WebSocket(req, socket, head, null, { ping: 5, extensions: [], maxLength: 1 << 24 })
  sockets.push(ws)
  ws.onopen = function () {
    ws.send(JSON.stringify({ hello: 'world' }))
  }
  ws.onmessage = function (event) {
    const payload = JSON.parse(event.data)
    if (Buffer.isBuffer(event.data)) ws.send(event.data)
    else ws.send(String(payload))
  }
  ws.onerror = function (event) { console.error(event.message) }
  ws.onclose = function (event) {
    console.log('closed', event.code, event.reason, ws.readyState === 3)
    sockets.splice(sockets.indexOf(ws), 1)
  }
  if (ws instanceof WebSocket) ws.ping()
}

const server = http.createServer(function (req, res) {
  if (WebSocket.EventSource.isEventSource(req)) {
    const es = new WebSocket.EventSource(req, res, { headers: { 'X-Accel-Buffering': 'no' }, ping: 15, retry: 2 })
    const timer = setInterval(function () { es.send(new Date().toISOString(), { event: 'time', id: String(Date.now()) }) }, 1000)
    es.onclose = function () { clearInterval(timer) }
    return
  }
  res.end()
})
server.on('upgrade', onUpgrade)

// The client, with the options faye-websocket documents.
const client = new WebSocket.Client('wss://example.com/socket', ['v1.json'], {
  headers: { Origin: 'https://example.com' },
  proxy: { origin: 'http://proxy.example.com:3128', headers: { 'User-Agent': 'app' } },
  tls: { rejectUnauthorized: false },
  ping: 20
})
client.on('open', function () { client.send('hi') })
client.on('message', function (event: { data: any }) { console.log(event.data) })
client.on('close', function (event: { code: number, reason: string }) { console.log(event.code, event.reason) })
client.addEventListener('error', function (event) { console.log(event.message) }, false)

// The default import is the constructor itself; a namespace import (not constructable
// under esModuleInterop, whatever the types) still has the attached classes.
const viaDefault: typeof WebSocket = FayeDefault
console.log(FayeNamespace.Client === viaDefault.Client, FayeNamespace.isWebSocket === WebSocket.isWebSocket)

// Subclassing, as wrappers around faye-websocket's client do.
class ReconnectingClient extends WebSocket.Client {
  attempts = 0
}
new ReconnectingClient('ws://localhost:8000/').close(1000, 'done')
