'use strict'

// hixie-75/76 binary frames carry a base-128 length prefix: each byte with its
// high bit set adds seven bits and asks for another. websocket-driver computed
// it with unbounded arithmetic, so a long run of such bytes grew the length
// without limit. Here the prefix is refused as soon as it can no longer be a
// valid length: a value past maxLength, or more length bytes than any allowed
// length needs (a run of 0x80 keeps the value at zero forever, so the value
// alone never ends it). Valid prefixes still frame the stream exactly.

const { startServer } = require('./helpers/server')
const H = require('./helpers/hixie')
const { withGuard } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const TOO_LARGE = 'WebSocket frame length too large'

async function openDraft (draft, serverOptions = {}) {
  const server = await startServer(serverOptions)
  const peer = await H.connectDraft(server.port, H.draftRequest(draft), { body: draft === 76 ? H.BODY : undefined })
  peer.socket.on('error', () => {})
  const connection = await server.nextConnection()
  await connection.waitOpen()
  if (draft === 76) await peer.waitAfter(16, 'the hixie-76 digest')
  return { server, peer, connection }
}

// A binary frame as a draft client writes it: 0x80, the base-128 length, the bytes.
function binaryFrame (payload) {
  const digits = []
  let n = payload.length
  do {
    digits.unshift(n & 0x7f)
    n = Math.floor(n / 128)
  } while (n > 0)
  const prefix = digits.map((d, i) => (i < digits.length - 1 ? d | 0x80 : d))
  return Buffer.concat([Buffer.from([0x80, ...prefix]), payload])
}

describe.each([75, 76])('hixie-%i', (draft) => {
  const runs = [
    ['0x80 (the value stays zero)', 0x80],
    ['0xFF (the value grows past any limit)', 0xff],
    ['0x81 (the value grows by one digit each byte)', 0x81]
  ]

  it.each(runs)('a length prefix of 64 KiB of %s bytes is refused at the header', async (_label, byte) => {
    const { server, peer, connection } = await openDraft(draft)
    peer.write(Buffer.concat([Buffer.from([0x80]), Buffer.alloc(64 * 1024, byte)]))
    // Processing 64 KiB takes microseconds: a connection still open after 2 s
    // is one that would read such a prefix forever.
    const event = await withGuard(connection.closed, 'the server socket to refuse the prefix', 2000)
    expect([event.code, event.reason]).toEqual([null, null])
    // The error names the fault (today's is the maxLength message).
    const sequence = connection.sequence()
    expect(sequence).toEqual(['open', expect.stringMatching(/^error:./), 'end', 'close:null:null'])
    if (byte !== 0x80) expect(sequence[1]).toBe(`error:${TOO_LARGE}`)
    await peer.waitClosed()

    // A later connection frames its messages correctly.
    const next = await H.connectDraft(server.port, H.draftRequest(draft), { body: draft === 76 ? H.BODY : undefined })
    const nextConnection = await server.nextConnection()
    await nextConnection.waitOpen()
    next.write(Buffer.concat([binaryFrame(Buffer.from([0x00, 0xff, 0x00])), H.textFrame('after'), H.textFrame('again')]))
    expect(await nextConnection.messages.next()).toBe('after')
    expect(await nextConnection.messages.next()).toBe('again')
    nextConnection.ws.send('reply')
    const frames = await next.readFrames(1, draft === 76 ? 16 : 0)
    expect(frames).toEqual([{ type: 'text', data: 'reply' }])
  })

  it('valid prefixes skip exactly their length, even over bytes that look like frame delimiters', async () => {
    const { peer, connection } = await openDraft(draft)
    const tricky = Buffer.alloc(300)
    for (let i = 0; i < tricky.length; i++) tricky[i] = i % 3 === 0 ? 0x00 : i % 3 === 1 ? 0xff : 0x80
    peer.write(Buffer.concat([
      binaryFrame(tricky), // a two-byte prefix: 0x82 0x2c
      H.textFrame('one'),
      binaryFrame(Buffer.alloc(0)),
      binaryFrame(Buffer.alloc(128, 0xff)), // 0x81 0x00
      H.textFrame('two')
    ]))
    expect(await connection.messages.next()).toBe('one')
    expect(await connection.messages.next()).toBe('two')
    expect(connection.sequence()).toEqual(['open', 'message:one', 'message:two'])
  })

  it('a prefix of exactly maxLength is skipped; one more is refused', async () => {
    const { peer, connection } = await openDraft(draft, { options: { maxLength: 1000 } })
    peer.write(Buffer.concat([binaryFrame(Buffer.alloc(1000, 0x61)), H.textFrame('kept')]))
    expect(await connection.messages.next()).toBe('kept')
    peer.write(binaryFrame(Buffer.alloc(1001, 0x61)).subarray(0, 3)) // 0x80 and the prefix only
    await connection.waitClosed()
    expect(connection.sequence()).toEqual(['open', 'message:kept', `error:${TOO_LARGE}`, 'end', 'close:null:null'])
  })
})
