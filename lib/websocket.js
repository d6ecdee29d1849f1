'use strict'

// The server-side WebSocket: new WebSocket(request, socket, body, protocols, options),
// made from an HTTP 'upgrade' event exactly as with faye-websocket.

const API = require('./api')
const native = require('./native')
const { SERVER_OPTIONS, validateOptions, flattenHeaders, protocolList } = require('./options')
const { nativeDeflateOptions } = require('./deflate')
const { rawHeaders, determineUrl } = require('./request')

class WebSocket extends API {
  constructor (request, socket, body, protocols, options) {
    super()
    options = options || {}
    this._stream = socket

    if (!socket || !socket.writable) return
    if (!socket.readable) {
      socket.end()
      return
    }

    validateOptions(options, SERVER_OPTIONS)
    this.url = determineUrl(request)
    this._native = native.NativeConnection.server(
      String(request.method),
      rawHeaders(request),
      this.url,
      protocolList(protocols),
      flattenHeaders(options.headers),
      // As in faye, a maxLength of 0 means the default.
      options.maxLength || undefined,
      nativeDeflateOptions(options.extensions)
    )
    this._setup(options)

    // Answer the handshake on the next tick, as faye does, so that listeners added
    // right after construction see `open`. Scheduled before the socket's 'data'
    // listener, so no frame can be fed before the handshake.
    process.nextTick(() => {
      const batch = this._call(() => this._native.start())
      if (batch) this._apply(batch)
      // Frames, or the hixie-76 handshake body, that came with the upgrade request.
      if (body && body.length > 0 && this.readyState < API.CLOSING) this._feed(body)
    })
    this._configureStream()
  }
}

WebSocket.isWebSocket = function (request) {
  return native.isWebsocket(String(request.method), rawHeaders(request))
}

WebSocket.validateOptions = validateOptions

module.exports = WebSocket
