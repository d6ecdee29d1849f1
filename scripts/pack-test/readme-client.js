'use strict'

// The README's client, pointed at the URL given on the command line; it closes once the
// echo is back, which the README leaves to the reader.
const WebSocket = require('faye-websocket-native')

let ws = new WebSocket.Client(process.argv[2])

ws.on('open', (event) => {
  console.log('open')
  ws.send('Hello, world!')
})

ws.on('message', (event) => {
  console.log('message', event.data)
  ws.close()
})

ws.on('close', (event) => {
  console.log('close', event.code, event.reason)
  ws = null
})
