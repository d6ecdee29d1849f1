'use strict'

// Extensions written for the websocket-extensions framework (an object with `name`,
// `type`, `rsv1..3`, `createClientSession`/`createServerSession`, and sessions with
// `processIncomingMessage`/`processOutgoingMessage`), negotiated and run here exactly
// as faye-websocket runs them:
//
//   - offers and responses list the extensions in the order they were registered,
//     one extension per reserved bit;
//   - outgoing messages pass through the sessions in that order, incoming messages in
//     reverse order;
//   - sessions may answer asynchronously: each stage hands messages on in the order it
//     received them, and the first error stops that direction.
//
// Only used when the application registers an extension other than permessage-deflate;
// permessage-deflate alone runs entirely in the native core. Here it takes part as one
// more stage whose compression still runs in Rust (see nativeDeflate below).

const native = require('./native')
const { isDeflate, deflateOptions } = require('./deflate')

const RSV_BITS = { rsv1: 0x40, rsv2: 0x20, rsv3: 0x10 }
const TEXT = 1
const BINARY = 2

// websocket-extensions turns numeric parameter values into numbers.
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/
const NOT_TOKEN = /([^!#$%&'*+\-.^_`|~0-9A-Za-z])/

// [{ key, value }] from the native parser → { key: true | number | string }, with a
// repeated key collected into an array, as extensions expect their params.
function paramsObject (list) {
  const params = {}
  for (const { key, value } of list) {
    let data = value === null || value === undefined ? true : value
    if (typeof data === 'string' && NUMBER.test(data)) data = parseFloat(data)
    if (Object.prototype.hasOwnProperty.call(params, key)) {
      params[key] = [].concat(params[key], data)
    } else {
      params[key] = data
    }
  }
  return params
}

// The reverse, for handing params to the native permessage-deflate negotiation.
function paramsList (params) {
  const list = []
  for (const key of Object.keys(params || {})) {
    for (const value of [].concat(params[key])) {
      list.push({ key, value: value === true ? undefined : String(value) })
    }
  }
  return list
}

function serializeParams (name, params) {
  const values = [name]
  for (const key of Object.keys(params || {})) {
    for (const value of [].concat(params[key])) {
      if (value === true) values.push(key)
      else if (typeof value === 'number') values.push(key + '=' + value)
      else if (NOT_TOKEN.test(value)) values.push(key + '="' + String(value).replace(/"/g, '\\"') + '"')
      else values.push(key + '=' + value)
    }
  }
  return values.join('; ')
}

// The header's extensions as [{ name, params }], parsed in linear time natively.
function parseHeader (header) {
  if (header === undefined || header === null || header === '') return []
  return native.parseExtensions(String(header)).map(({ name, params }) => ({ name, params: paramsObject(params) }))
}

// One session's method in one direction. Messages leave in the order they arrived,
// whenever the session answers; after an error nothing more passes.
class Stage {
  constructor (name, session, method) {
    this._name = name
    this._session = session
    this._method = method
    this._queue = []
    this.stopped = false
  }

  get pending () {
    return this._queue.length
  }

  run (error, message, next) {
    if (this.stopped) return
    const record = { done: false, error, message: null, next }
    this._queue.push(record)
    if (error) {
      record.done = true
      this.stopped = true
      return this._flush()
    }
    let called = false
    const handler = (err, result) => {
      if (called) return
      called = true
      if (err) {
        this.stopped = true
        if (err instanceof Error) err.message = this._name + ': ' + err.message
        record.error = err
      } else {
        record.message = result
      }
      record.done = true
      this._flush()
    }
    try {
      this._session[this._method](message, handler)
    } catch (err) {
      handler(err)
    }
  }

  _flush () {
    while (this._queue.length > 0 && this._queue[0].done) {
      const record = this._queue.shift()
      if (record.error) this._queue = []
      record.next(record.error, record.message)
    }
  }
}

class Extensions {
  // `extensions` has been checked by checkExtensions; `options` carries maxLength,
  // which websocket-extensions passes to every session it creates.
  constructor (extensions, options) {
    this._options = options
    this._inOrder = extensions.map((ext) => isDeflate(ext) ? nativeDeflate(ext) : ext)
    this._index = new Map()
    this._sessions = []
    this._closed = false
  }

  // Client: the Sec-WebSocket-Extensions offer, or null.
  generateOffer () {
    const offer = []
    this._index = new Map()
    for (const ext of this._inOrder) {
      const session = ext.createClientSession(this._options)
      if (!session) continue
      this._index.set(ext.name, [ext, session])
      const offers = session.generateOffer()
      for (const params of offers ? [].concat(offers) : []) offer.push(serializeParams(ext.name, params))
    }
    return offer.length > 0 ? offer.join(', ') : null
  }

  // Client: accepts the server's response or throws websocket-extensions' message.
  activate (header) {
    const sessions = []
    const reserved = {}
    for (const { name, params } of parseHeader(header)) {
      const record = this._index.get(name)
      if (!record) throw new Error('Server sent an extension response for unknown extension "' + name + '"')
      const [ext, session] = record
      const clash = reservedBy(reserved, ext)
      if (clash) {
        throw new Error('Server sent two extension responses that use the RSV' + clash[0] + ' bit: "' +
          clash[1] + '" and "' + ext.name + '"')
      }
      if (session.activate(params) !== true) {
        throw new Error('Server sent unacceptable extension parameters: ' + serializeParams(name, params))
      }
      reserve(reserved, ext)
      sessions.push(record)
    }
    // Offered sessions the server did not take are closed, so they hold nothing.
    for (const [ext, session] of this._index.values()) {
      if (!sessions.some((record) => record[0] === ext) && typeof session.close === 'function') session.close()
    }
    this._start(sessions)
  }

  // Server: the response to the client's offers, or null. Throws for a malformed header.
  generateResponse (header) {
    const offers = parseHeader(header)
    const sessions = []
    const response = []
    const reserved = {}
    for (const ext of this._inOrder) {
      const offered = offers.filter((offer) => offer.name === ext.name).map((offer) => offer.params)
      if (offered.length === 0 || reservedBy(reserved, ext)) continue
      const session = ext.createServerSession(offered, this._options)
      if (!session) continue
      reserve(reserved, ext)
      sessions.push([ext, session])
      response.push(serializeParams(ext.name, session.generateResponse()))
    }
    this._start(sessions)
    return response.length > 0 ? response.join(', ') : null
  }

  // The reserved bits the negotiated extensions may set, RSV1 = 0x40.
  rsvMask () {
    let mask = 0
    for (const [ext] of this._sessions) {
      for (const bit in RSV_BITS) if (ext[bit]) mask |= RSV_BITS[bit]
    }
    return mask
  }

  get outgoingPending () {
    return this._outgoing.reduce((sum, stage) => sum + stage.pending, 0)
  }

  // `message` is { opcode, rsv1, rsv2, rsv3, data }, as websocket-extensions passes it.
  processIncomingMessage (message, callback) {
    this._run(this._incoming, message, callback)
  }

  processOutgoingMessage (message, callback) {
    this._run(this._outgoing, message, callback)
  }

  // Frees every session once; later messages are dropped.
  close () {
    if (this._closed) return
    this._closed = true
    for (const [, session] of this._sessions) {
      if (typeof session.close === 'function') session.close()
    }
  }

  _start (sessions) {
    this._sessions = sessions
    this._outgoing = sessions.map(([ext, session]) => new Stage(ext.name, session, 'processOutgoingMessage'))
    this._incoming = sessions.map(([ext, session]) => new Stage(ext.name, session, 'processIncomingMessage')).reverse()
  }

  _run (stages, message, callback) {
    if (this._closed || stages.some((stage) => stage.stopped)) return
    const pass = (index, error, msg) => {
      if (index === stages.length) return callback(error, msg)
      stages[index].run(error, msg, (err, m) => pass(index + 1, err, m))
    }
    pass(0, null, message)
  }
}

function reservedBy (reserved, ext) {
  for (const [index, bit] of [[1, 'rsv1'], [2, 'rsv2'], [3, 'rsv3']]) {
    if (ext[bit] && reserved[bit]) return [index, reserved[bit]]
  }
  return null
}

function reserve (reserved, ext) {
  for (const bit of ['rsv1', 'rsv2', 'rsv3']) {
    if (ext[bit] && !reserved[bit]) reserved[bit] = ext.name
  }
}

// permessage-deflate as one stage of the pipeline, negotiated and run by the native
// codec with the options the application configured.
function nativeDeflate (ext) {
  const options = deflateOptions(ext)
  native.NativeDeflate.validate(options)
  return {
    name: ext.name,
    type: ext.type,
    rsv1: true,
    rsv2: false,
    rsv3: false,

    createServerSession (offers, frameworkOptions) {
      const codec = native.NativeDeflate.serverSession(options, offers.map(paramsList), frameworkOptions.maxLength)
      return codec ? deflateSession(codec) : null
    },

    createClientSession (frameworkOptions) {
      let codec = null
      return Object.assign(deflateSession(() => codec), {
        generateOffer: () => paramsObject(native.NativeDeflate.clientOffer(options)),
        activate (params) {
          codec = native.NativeDeflate.clientSession(options, paramsList(params), frameworkOptions.maxLength)
          return codec !== null && codec !== undefined
        }
      })
    }
  }
}

// `codec` is a NativeDeflate, or a function returning it once a client session is active.
function deflateSession (codec) {
  const get = typeof codec === 'function' ? codec : () => codec
  return {
    generateResponse: () => paramsObject(get().response),

    processIncomingMessage (message, callback) {
      if (!message.rsv1) return callback(null, message)
      const inflated = get().inflate(message.data)
      if (inflated.tooLarge) {
        const error = new Error('WebSocket frame length too large')
        error.type = 'too_large'
        return callback(error)
      }
      if (inflated.error) return callback(new Error(inflated.error))
      message.rsv1 = false
      message.data = inflated.data
      callback(null, message)
    },

    processOutgoingMessage (message, callback) {
      message.data = get().deflate(message.data)
      message.rsv1 = true
      callback(null, message)
    },

    close () {
      const current = get()
      if (current) current.close()
    }
  }
}

// The first frame's reserved bits of a message a session produced.
function rsvOf (message) {
  let bits = 0
  for (const bit in RSV_BITS) if (message[bit]) bits |= RSV_BITS[bit]
  return bits
}

module.exports = { Extensions, rsvOf, TEXT, BINARY, RSV_BITS }
