'use strict'

// permessage-deflate, run by the native codec. `WebSocket.deflate` is this package's
// own extension object; the npm package permessage-deflate (and anything configured
// from it) is recognised too, so `extensions: [require('permessage-deflate')]` keeps
// working unchanged. Either way compression happens in Rust.

const VALID_OPTIONS = [
  'level', 'memLevel', 'strategy',
  'noContextTakeover', 'maxWindowBits',
  'requestNoContextTakeover', 'requestMaxWindowBits',
  // permessage-deflate lets callers swap in another zlib; the native codec ignores it.
  'zlib'
]

const deflate = {
  name: 'permessage-deflate',
  type: 'permessage',
  rsv1: true,
  rsv2: false,
  rsv3: false,

  // Same contract as permessage-deflate's configure(): validate, merge with any options
  // configured before, and return a configured copy.
  configure (options) {
    options = Object.assign({}, options)
    for (const key in options) {
      if (VALID_OPTIONS.indexOf(key) < 0) throw new Error('Unrecognized option: ' + key)
    }
    const merged = Object.assign({}, options, this._options)
    return Object.create(this, { _options: { value: merged } })
  }
}

function isDeflate (extension) {
  return Boolean(extension) &&
    extension.name === 'permessage-deflate' &&
    extension.type === 'permessage' &&
    typeof extension.configure === 'function'
}

// A numeric option as the native codec takes it. Values must be integers: nothing is
// coerced (a level of 'abc' must not quietly mean 0). Exact ranges are checked natively.
function integer (options, name) {
  const value = options[name]
  if (value === undefined) return undefined
  if (!Number.isInteger(value) || value < -1 || value > 15) throw new Error('Invalid value for ' + name)
  return value
}

// The checks websocket-extensions makes when an extension is added, with its
// messages, so a malformed `extensions` option fails as it does with faye.
function checkExtensions (extensions) {
  const names = new Set()
  for (const ext of extensions) {
    if (!ext || typeof ext.name !== 'string') throw new TypeError('extension.name must be a string')
    if (ext.type !== 'permessage') throw new TypeError('extension.type must be "permessage"')
    for (const bit of ['rsv1', 'rsv2', 'rsv3']) {
      if (typeof ext[bit] !== 'boolean') throw new TypeError('extension.' + bit + ' must be true or false')
    }
    if (names.has(ext.name)) throw new TypeError('An extension with name "' + ext.name + '" is already registered')
    names.add(ext.name)
  }
}

// The native codec's options for a permessage-deflate extension object.
function deflateOptions (extension) {
  const options = extension._options || {}
  return {
    level: integer(options, 'level'),
    memLevel: integer(options, 'memLevel'),
    strategy: integer(options, 'strategy'),
    noContextTakeover: options.noContextTakeover === undefined ? undefined : Boolean(options.noContextTakeover),
    maxWindowBits: integer(options, 'maxWindowBits'),
    requestNoContextTakeover: options.requestNoContextTakeover === undefined ? undefined : Boolean(options.requestNoContextTakeover),
    requestMaxWindowBits: integer(options, 'requestMaxWindowBits')
  }
}

// How the `extensions` option runs: not at all (null), permessage-deflate alone in the
// native core ({ deflate }), or through the JavaScript framework when any other
// extension is registered ({ framework: [...] }). Throws websocket-extensions'
// TypeErrors for malformed extension objects.
function extensionPlan (extensions) {
  if (!extensions) return null
  extensions = [].concat(extensions)
  checkExtensions(extensions)
  if (extensions.length === 0) return null
  if (extensions.every(isDeflate)) return { deflate: deflateOptions(extensions[0]) }
  return { framework: extensions }
}

module.exports = { deflate, isDeflate, deflateOptions, extensionPlan }
