'use strict'

// WebSocket.Client: connects with net.connect() or tls.connect() (the `net` and `tls`
// options go straight to them), optionally through an HTTP(S) proxy with CONNECT, then
// runs the same socket layer as the server over the native connection.

const net = require('net')
const tls = require('tls')
const API = require('./api')
const native = require('./native')
const NativeConnection = require('./connection')
const { CLIENT_OPTIONS, validateOptions, flattenHeaders, protocolList } = require('./options')
const { extensionPlan } = require('./deflate')
const { Extensions } = require('./extensions')

const DEFAULT_PORTS = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 }
const SECURE_PROTOCOLS = ['https:', 'wss:']

function parseUrl (value) {
  if (typeof value === 'object' && value !== null) value = value.href
  if (typeof value !== 'string') return null
  try {
    return new URL(value)
  } catch (error) {
    return null
  }
}

// `Basic …` from the user:password part of a URL, as websocket-driver builds it:
// both parts present, taken as the URL spells them.
function urlAuthorization (uri) {
  if (!uri || !uri.username || !uri.password) return null
  return 'Basic ' + Buffer.from(uri.username + ':' + uri.password, 'utf8').toString('base64')
}

// URL.hostname keeps the brackets of an IPv6 literal; sockets want the bare address.
function bareHostname (uri) {
  return uri.hostname.replace(/^\[(.*)\]$/, '$1')
}

class Client extends API {
  constructor (url, protocols, options) {
    super()
    this.url = url
    const uri = parseUrl(url)
    if (!uri || (uri.protocol !== 'ws:' && uri.protocol !== 'wss:')) {
      throw new Error(url + ' is not a valid WebSocket URL')
    }
    options = validateOptions(options, CLIENT_OPTIONS)

    const plan = extensionPlan(options.extensions)
    const target = [
      (uri.pathname || '/') + uri.search,
      uri.host,
      protocolList(protocols),
      flattenHeaders(options.headers),
      urlAuthorization(uri),
      options.maxLength || undefined
    ]
    if (plan && plan.framework) {
      this._extensions = new Extensions(plan.framework, { maxLength: options.maxLength || API.DEFAULT_MAX_LENGTH })
      const offer = this._extensions.generateOffer()
      this._native = NativeConnection.client(...target, undefined, true, offer == null ? undefined : String(offer))
    } else {
      this._native = NativeConnection.client(...target, plan ? plan.deflate : undefined, false)
    }

    const proxy = options.proxy || {}
    const endpoint = parseUrl(proxy.origin || url)
    if (!endpoint) throw new Error(proxy.origin + ' is not a valid proxy URL')
    if (proxy.origin) {
      this._tunnel = new native.NativeProxyTunnel(
        uri.hostname + ':' + (Number(uri.port) || DEFAULT_PORTS[uri.protocol]),
        uri.host,
        urlAuthorization(endpoint),
        flattenHeaders(proxy.headers)
      )
      this._origin = uri
    }
    const host = bareHostname(endpoint)
    const port = Number(endpoint.port) || DEFAULT_PORTS[endpoint.protocol]
    const secure = SECURE_PROTOCOLS.indexOf(endpoint.protocol) >= 0

    this._originTLS = Object.assign({}, options.tls)
    if (this._originTLS.ca === undefined && options.ca !== undefined) this._originTLS.ca = options.ca
    const socketTLS = proxy.origin ? Object.assign({}, proxy.tls) : this._originTLS
    const connectOptions = Object.assign({}, options.net, secure ? socketTLS : {}, { host, port })
    // SNI carries host names only (RFC 6066 section 3).
    if (secure && connectOptions.servername === undefined && !net.isIP(host)) connectOptions.servername = host

    // Everything that can throw has run: only now connect and start timers, so a
    // constructor that throws leaves no socket and no interval behind.
    const onConnect = () => this._onConnect()
    this._stream = secure ? tls.connect(connectOptions, onConnect) : net.connect(connectOptions, onConnect)
    this._setup(options)
    this._configureStream()
  }

  _onConnect () {
    if (this.readyState !== API.CONNECTING) return
    if (this._tunnel) return this._write(this._tunnel.request())
    this._startHandshake()
  }

  _startHandshake () {
    const batch = this._call(() => this._native.start())
    if (batch) this._apply(batch)
  }

  _feed (chunk) {
    if (this._tunnel) return this._feedTunnel(chunk)
    super._feed(chunk)
  }

  _feedTunnel (chunk) {
    const answer = this._call(() => this._tunnel.feed(chunk))
    if (!answer || answer.state === 'pending') return
    this._tunnel = null

    if (answer.state === 'refused') {
      this._emitError("Can't establish a connection to the server at " + this._origin.href)
      // Nothing more can happen on this connection; let the proxy go.
      this._shutdownSocket()
      return
    }

    if (this._origin.protocol === 'wss:') {
      // TLS to the origin, inside the tunnel.
      const raw = this._stream
      raw.removeAllListeners('data')
      if (answer.rest.length > 0) raw.unshift(answer.rest)
      const options = Object.assign({ socket: raw }, this._originTLS)
      const originHost = bareHostname(this._origin)
      if (options.servername === undefined && !net.isIP(originHost)) options.servername = originHost
      this._stream = tls.connect(options, () => this._startHandshake())
      this._configureStream()
    } else {
      this._startHandshake()
      if (answer.rest.length > 0) super._feed(answer.rest)
    }
  }

  _handshakeResponse (response) {
    const headers = {}
    for (let i = 0; i < response.headers.length; i += 2) headers[response.headers[i]] = response.headers[i + 1]
    this.statusCode = response.statusCode
    this.headers = headers
    // The native side accepted the response and waits for the extensions' verdict.
    if (this._extensions && this._native.readyState === API.CONNECTING) {
      this._activateExtensions(headers['sec-websocket-extensions'])
    }
  }

  _activateExtensions (header) {
    try {
      this._extensions.activate(header)
    } catch (error) {
      return this._fail(1002, 'Error during WebSocket handshake: ' + error.message)
    }
    const batch = this._call(() => this._native.activateExtensions(this._extensions.rsvMask()))
    if (batch) this._apply(batch)
  }
}

// Clients mask every frame they send, including one built in JavaScript.
Client.prototype._masksFrames = true

module.exports = Client
