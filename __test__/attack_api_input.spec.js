'use strict'

// Application values that are not strings, on their way to the wire. ws 1.x
// turned a number into Buffer(number), sending uninitialised memory; a close
// reason, message or ping payload given as a TypedArray, a number or some
// other object must either be refused with a clear TypeError, or become
// exactly its string conversion. The bytes on the wire are checked with a raw
// peer, so nothing else can slip in.

const { openRaw } = require('./helpers/server')
const F = require('./helpers/frames')
const { quietPeriod } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const reasons = [
  ['a Uint8Array', () => new Uint8Array([104, 105])],
  ['a Buffer', () => Buffer.from('hi')],
  ['a Float64Array', () => new Float64Array([1.5, -2])],
  ['an Int32Array', () => new Int32Array([-1, 65536])],
  ['an ArrayBuffer of 64 bytes', () => new ArrayBuffer(64)],
  ['a DataView', () => new DataView(new ArrayBuffer(8))],
  ['the number 50', () => 50],
  ['an object with toString', () => ({ toString: () => 'custom reason' })],
  ['an array', () => [1, 2, 3]],
  ['a Symbol', () => Symbol('s')]
]

// `sendIt(ws, value)` must send exactly String(value), or throw a TypeError
// and send nothing. Resolves with what happened.
async function checkConversion (value, sendIt, readIt) {
  const { peer, ws } = await openRaw()
  let thrown = null
  try {
    sendIt(ws, value)
  } catch (error) {
    thrown = error
  }
  if (thrown) {
    expect(thrown).toBeInstanceOf(TypeError)
    // Negative check: nothing at all went out.
    await quietPeriod(50)
    expect(peer.frames).toEqual([])
    expect(ws.readyState).toBe(1)
    return { thrown }
  }
  const frame = await readIt(peer)
  return { frame }
}

describe('close(code, reason) with a reason that is not a string', () => {
  it.each(reasons)('%s: a TypeError, or exactly String(reason) on the wire', async (_label, make) => {
    const value = make()
    const outcome = await checkConversion(value, (ws, v) => ws.close(4000, v), (peer) => peer.readClose())
    if (outcome.thrown) return
    const expected = Buffer.from(String(value), 'utf8')
    const { frame } = outcome
    expect(frame.code).toBe(4000)
    expect(frame.length).toBe(2 + expected.length)
    expect(frame.payload.subarray(2)).toEqual(expected)
  })

  it('a TypedArray whose string conversion is over 123 bytes: throws, sends nothing, the socket stays usable', async () => {
    const { peer, connection, ws } = await openRaw()
    expect(() => ws.close(1000, new Uint8Array(100))).toThrow()
    expect(ws.readyState).toBe(1)
    await quietPeriod(50)
    expect(peer.frames).toEqual([])
    ws.close(1000, 'fine')
    const close = await peer.readClose()
    expect([close.code, close.reason]).toEqual([1000, 'fine'])
    peer.write(F.close(1000, 'fine'))
    expect((await connection.waitClosed()).code).toBe(1000)
  })

  it('a reason whose conversion throws: the error propagates, nothing is sent, the socket stays open', async () => {
    const { peer, ws } = await openRaw()
    const hostile = { toString () { throw new RangeError('no string for you') } }
    expect(() => ws.close(1000, hostile)).toThrow('no string for you')
    expect(ws.readyState).toBe(1)
    await quietPeriod(50)
    expect(peer.frames).toEqual([])
    expect(ws.send('still open')).toBe(true)
    expect((await peer.readFrame()).payload.toString()).toBe('still open')
  })
})

describe('send() and ping() with values that are not strings or Buffers', () => {
  const values = [
    ['the number 100', () => 100],
    ['a Uint8Array', () => new Uint8Array([1, 2, 3])],
    ['a Float32Array', () => new Float32Array([0.5])],
    ['an ArrayBuffer of 1 KiB', () => new ArrayBuffer(1024)],
    ['an object', () => ({ a: 1 })]
  ]

  it.each(values)('send(%s): exactly String(value) as a text frame, or a TypeError', async (_label, make) => {
    const value = make()
    const outcome = await checkConversion(value, (ws, v) => ws.send(v), (peer) => peer.readFrame())
    if (outcome.thrown) return
    expect(outcome.frame.opcode).toBe(F.OPCODES.text)
    expect(outcome.frame.payload).toEqual(Buffer.from(String(value), 'utf8'))
  })

  it.each(values)('ping(%s): exactly String(value) as the payload, or a TypeError', async (_label, make) => {
    const value = make()
    const expected = Buffer.from(String(value), 'utf8')
    const outcome = await checkConversion(value, (ws, v) => ws.ping(v), (peer) => peer.readFrame())
    if (outcome.thrown) return
    expect(outcome.frame.opcode).toBe(F.OPCODES.ping)
    expect(outcome.frame.payload).toEqual(expected)
  })
})
