'use strict'

// The server-side WebSocket: new WebSocket(request, socket, body, protocols, options),
// made from an HTTP 'upgrade' event exactly as with faye-websocket.

const API = require('./api')
const native = require('./native')
const NativeConnection = require('./connection')
const { SERVER_OPTIONS, validateOptions, flattenHeaders, protocolList } = require('./options')
const { extensionPlan } = require('./deflate')
const { Extensions } = require('./extensions')
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
    const plan = extensionPlan(options.extensions)
    this.url = determineUrl(request)
    this._native = NativeConnection.server(
      String(request.method),
      rawHeaders(request),
      this.url,
      protocolList(protocols),
      flattenHeaders(options.headers),
      // As in faye, a maxLength of 0 means the default.
      options.maxLength || undefined,
      plan && plan.deflate
    )
    this._setup(options)
    // Server frames are not masked: a large payload can follow its header as it is.
    this._headOnly = true
    // The drafts have no extensions.
    if (plan && plan.framework && this._native.version === 'hybi-13') {
      this._extensions = new Extensions(plan.framework, { maxLength: this._maxLength })
    }

    // Answer the handshake on the next tick, as faye does, so that listeners added
    // right after construction see `open`. Scheduled before the socket's 'data'
    // listener, so no frame can be fed before the handshake.
    process.nextTick(() => {
      if (this._extensions) this._answerExtensions(request)
      const batch = this._call(() => this._native.start())
      if (batch) this._apply(batch)
      // Frames, or the hixie-76 handshake body, that came with the upgrade request.
      if (body && body.length > 0 && this.readyState < API.CLOSING) this._feed(body)
    })
    this._configureStream()
  }

  // Negotiates the application's extensions; the native side sends the answer with
  // its 101, or refuses the request with the reason (a malformed header, say) after
  // its own checks.
  _answerExtensions (request) {
    let header = null
    let refusal = null
    try {
      header = this._extensions.generateResponse(request.headers['sec-websocket-extensions'])
    } catch (error) {
      refusal = error.message
    }
    this._call(() => this._native.answerExtensions(header, this._extensions.rsvMask(), refusal))
  }
}

WebSocket.isWebSocket = function (request) {
  return native.isWebsocket(String(request.method), rawHeaders(request))
}

WebSocket.validateOptions = validateOptions

module.exports = WebSocket
