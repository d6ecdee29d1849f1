'use strict'

// faye-websocket's public surface: the server-side WebSocket is the export, with the
// other classes attached to it.
const WebSocket = require('./lib/websocket')

WebSocket.WebSocket = WebSocket
WebSocket.Client = require('./lib/client')
WebSocket.deflate = require('./lib/deflate').deflate
WebSocket.EventSource = require('./lib/eventsource')

module.exports = WebSocket
