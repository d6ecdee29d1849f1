'use strict'

// The native connection as an object: each method calls the binding's function of the
// same name with the connection's handle (src/binding/handle.rs says why it is a
// handle and not a class of the binding). V8 inlines these wrappers.

const native = require('./native')

class NativeConnection {
  constructor (handle) {
    this._handle = handle
  }

  static server (...args) {
    return new NativeConnection(native.connectionServer(...args))
  }

  static client (...args) {
    return new NativeConnection(native.connectionClient(...args))
  }

  get readyState () { return native.connectionReadyState(this._handle) }
  get closeExpected () { return native.connectionCloseExpected(this._handle) }
  get version () { return native.connectionVersion(this._handle) }
  get plainFrames () { return native.connectionPlainFrames(this._handle) }
  get protocol () { return native.connectionProtocol(this._handle) }

  answerExtensions (header, rsv, refusal) { return native.connectionAnswerExtensions(this._handle, header, rsv, refusal) }
  activateExtensions (rsv) { return native.connectionActivateExtensions(this._handle, rsv) }
  fail (code, reason) { return native.connectionFail(this._handle, code, reason) }
  start () { return native.connectionStart(this._handle) }
  feed (chunk) { return native.connectionFeed(this._handle, chunk) }
  feedEof () { return native.connectionFeedEof(this._handle) }
  sendText (text, ascii) { return native.connectionSendText(this._handle, text, ascii) }
  sendBinary (data) { return native.connectionSendBinary(this._handle, data) }
  sendTextInto (text, pool, offset) { return native.connectionSendTextInto(this._handle, text, pool, offset) }
  sendBinaryInto (data, pool, offset) { return native.connectionSendBinaryInto(this._handle, data, pool, offset) }
  queueText (text, ascii) { return native.connectionQueueText(this._handle, text, ascii) }
  queueBinary (data) { return native.connectionQueueBinary(this._handle, data) }
  sendHead (text, length) { return native.connectionSendHead(this._handle, text, length) }
  compressText (text, ascii) { return native.connectionCompressText(this._handle, text, ascii) }
  compressBinary (data) { return native.connectionCompressBinary(this._handle, data) }
  finishCompression (job) { return native.connectionFinishCompression(this._handle, job) }
  sendFrame (text, rsv, data) { return native.connectionSendFrame(this._handle, text, rsv, data) }
  takeOutput () { return native.connectionTakeOutput(this._handle) }
  ping (data) { return native.connectionPing(this._handle, data) }
  close (code, reason) { return native.connectionClose(this._handle, code, reason) }
  flushClose () { return native.connectionFlushClose(this._handle) }
}

module.exports = NativeConnection
