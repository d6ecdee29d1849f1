'use strict'

// One of the sockjs server processes of sockjs.js: a SockJS echo server on /echo whose
// replies are prefixed with `<NAME>:`, so a client can tell which process served it.
//
//   NAME=A PORT=… node sockjs-server.js
//
// Prints one JSON line once listening: { name, pid, port, proof } (proof: which
// faye-websocket sockjs runs on, see common.js).

const http = require('http')
const sockjs = require('sockjs')
const { nativeProof } = require('./common')

const { NAME, PORT } = process.env

const echo = sockjs.createServer({ log: () => {} })
echo.on('connection', (conn) => {
  conn.on('data', (message) => conn.write(NAME + ':' + message))
})
const server = http.createServer()
echo.installHandlers(server, { prefix: '/echo' })
server.listen(Number(PORT), '127.0.0.1', () => {
  console.log(JSON.stringify({ name: NAME, pid: process.pid, port: server.address().port, proof: nativeProof('sockjs') }))
})
