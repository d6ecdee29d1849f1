'use strict'

// WebSocket.EventSource: a one-way server push stream over an HTTP response, written
// straight to Node's socket exactly as faye-websocket writes it. The encoding is
// native (src/core/sse.rs); this file owns the socket, the ping timer and the events.

const { Stream } = require('stream')
const Event = require('./event')
const EventTarget = require('./event_target')
const native = require('./native')
const { validateOptions, flattenHeaders } = require('./options')
const { isSecureRequest } = require('./request')

const CONNECTING = 0
const OPEN = 1
const CLOSED = 3

const EVENTSOURCE_OPTIONS = ['headers', 'retry', 'ping']
// Seconds, as faye's defaults.
const DEFAULT_PING = 10
const DEFAULT_RETRY = 5
// The largest delay a browser's timer takes (2^31 - 1 ms).
const MAX_RETRY_MS = 0x7fffffff

class EventSource extends Stream {
  constructor (request, response, options) {
    super()
    this.writable = true
    options = validateOptions(options, EVENTSOURCE_OPTIONS)

    this._stream = response.socket
    this._ping = options.ping || DEFAULT_PING
    this._retry = options.retry || DEFAULT_RETRY

    const scheme = isSecureRequest(request) ? 'https:' : 'http:'
    this.url = scheme + '//' + request.headers.host + request.url
    this.lastEventId = request.headers['last-event-id'] || ''
    this.readyState = CONNECTING

    // faye would write `retry: NaN` or a negative delay for a bad value; a client told
    // to retry at once would hammer the server, so the default applies instead.
    let retryMs = Math.floor(Number(this._retry) * 1000)
    if (!(retryMs >= 0 && retryMs <= MAX_RETRY_MS)) retryMs = DEFAULT_RETRY * 1000

    // Throws for a header that would inject lines, before anything is written.
    const head = native.eventSourceHead(flattenHeaders(options.headers), retryMs)

    if (!this._stream || !this._stream.writable) return
    process.nextTick(() => this._open())

    this._stream.setTimeout(0)
    this._stream.setNoDelay(true)
    this._write(head)

    this._stream.on('drain', () => this.emit('drain'))
    if (this._ping) this._pingTimer = setInterval(() => this.ping(), this._ping * 1000)
    // As faye: the client going away (end or error) closes; a bare destroy() by the
    // application does not fire these.
    this._stream.on('end', () => this.close())
    this._stream.on('error', () => this.close())
  }

  static isEventSource (request) {
    if (request.method !== 'GET') return false
    const accept = (request.headers.accept || '').split(/\s*,\s*/)
    return accept.indexOf('text/event-stream') >= 0
  }

  write (message) {
    return this.send(message)
  }

  end (message) {
    if (message !== undefined) this.write(message)
    this.close()
  }

  // Throws if options.event or options.id holds CR or LF (it would inject fields).
  send (message, options) {
    if (this.readyState > OPEN) return false
    options = options || {}
    const frame = native.eventSourceMessage(
      String(message),
      options.event ? String(options.event) : undefined,
      options.id ? String(options.id) : undefined
    )
    return this._write(frame)
  }

  ping () {
    return this._write(native.eventSourcePing())
  }

  close () {
    if (this.readyState > OPEN) return false
    this.readyState = CLOSED
    this.writable = false
    clearInterval(this._pingTimer)
    if (this._stream) this._stream.end()
    this._dispatch('close')
    return true
  }

  _open () {
    if (this.readyState !== CONNECTING) return
    this.readyState = OPEN
    this._dispatch('open')
  }

  _write (chunk) {
    if (!this.writable) return false
    try {
      return this._stream.write(chunk)
    } catch (error) {
      return false
    }
  }

  _dispatch (type) {
    const event = new Event(type)
    event.initEvent(type, false, false)
    this.dispatchEvent(event)
  }
}

Object.assign(EventSource.prototype, EventTarget)

module.exports = EventSource
