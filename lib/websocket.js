'use strict'

// The server-side WebSocket: new WebSocket(request, socket, body, protocols, options),
// made from an HTTP 'upgrade' event exactly as with faye-websocket.

const API = require('./api')
const native = require('./native')
const { SERVER_OPTIONS, validateOptions, flattenHeaders, protocolList } = require('./options')
const { nativeDeflateOptions } = require('./deflate')

// Node's rawHeaders when present; otherwise built from `headers` for request-like
// objects that only carry those.
function rawHeaders (request) {
  if (Array.isArray(request.rawHeaders)) return request.rawHeaders.map(String)
  const flat = []
  const headers = request.headers || {}
  for (const name in headers) {
    for (const value of [].concat(headers[name])) flat.push(name, String(value))
  }
  return flat
}

function isSecureRequest (request) {
  if (request.connection && request.connection.authorized !== undefined) return true
  if (request.socket && request.socket.secure) return true
  const headers = request.headers
  if (!headers) return false
  return headers.https === 'on' ||
    headers['x-forwarded-ssl'] === 'on' ||
    headers['x-forwarded-scheme'] === 'https' ||
    headers['x-forwarded-proto'] === 'https'
}

function determineUrl (request) {
  const scheme = isSecureRequest(request) ? 'wss:' : 'ws:'
  return scheme + '//' + request.headers.host + request.url
}

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
      if (body && body.length > 0 && this.readyState === API.OPEN) this._feed(body)
    })
    this._configureStream()
  }
}

WebSocket.isWebSocket = function (request) {
  return native.isWebsocket(String(request.method), rawHeaders(request))
}

WebSocket.validateOptions = validateOptions

module.exports = WebSocket
