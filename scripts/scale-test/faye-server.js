'use strict'

// One of the faye server processes of faye.js: a Faye.NodeAdapter on an HTTP server,
// with faye-redis as its engine, so that any number of such processes share clients,
// subscriptions and message queues through one Redis.
//
//   NAME=A PORT=… REDIS_PORT=… node faye-server.js
//
// Prints one JSON line once listening: { name, pid, port, proof } (proof: which
// faye-websocket faye runs on, see common.js). GET /status answers with the connection
// types of the /meta/connect messages it handled, and how many WebSocket upgrades and
// EventSource requests it took.

const http = require('http')
const path = require('path')
const faye = require('faye')
const fayeRedis = require('faye-redis')
const { nativeProof } = require('./common')

const { NAME, PORT, REDIS_PORT } = process.env

// The faye-websocket that faye's NodeAdapter uses: counting the EventSource requests it
// recognises shows that faye's EventSource traffic went through it. (Upgrades are
// counted on the HTTP server; faye hands every one under its mount to faye-websocket's
// WebSocket.)
const FayeWebSocket = require(require.resolve('faye-websocket', { paths: [path.dirname(require.resolve('faye/package.json'))] }))
const counts = { upgrades: 0, eventsource: 0, connectionTypes: {} }
const isEventSource = FayeWebSocket.EventSource.isEventSource
FayeWebSocket.EventSource.isEventSource = function (request) {
  const yes = isEventSource.call(this, request)
  if (yes) counts.eventsource++
  return yes
}

const bayeux = new faye.NodeAdapter({
  mount: '/bayeux',
  timeout: 10,
  engine: { type: fayeRedis, host: '127.0.0.1', port: Number(REDIS_PORT), namespace: 'scale-test' }
})
bayeux.addExtension({
  incoming (message, callback) {
    if (message.channel === '/meta/connect') {
      counts.connectionTypes[message.connectionType] = (counts.connectionTypes[message.connectionType] || 0) + 1
    }
    callback(message)
  }
})

const server = http.createServer((request, response) => {
  if (request.url === '/status') {
    response.writeHead(200, { 'Content-Type': 'application/json' })
    response.end(JSON.stringify({ name: NAME, pid: process.pid, ...counts }))
  } else {
    response.writeHead(404)
    response.end()
  }
})
bayeux.attach(server)
server.prependListener('upgrade', () => { counts.upgrades++ })
server.listen(Number(PORT), '127.0.0.1', () => {
  console.log(JSON.stringify({ name: NAME, pid: process.pid, port: server.address().port, proof: nativeProof('faye') }))
})
