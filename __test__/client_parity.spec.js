'use strict'

// Parity of WebSocket.Client: the same scenarios run against faye-websocket
// 0.11.4's Client and this package's. Each row must produce the expected
// event sequence, and the two rows must produce identical results. Cases
// where this package is intentionally stricter or more lenient (a masked
// server frame, `Connection: keep-alive, Upgrade`, the `net` option) are not
// here: client_handshake.spec.js, client_framing.spec.js and
// client_options.spec.js test them with a WS_IMPL branch.

const faye = require('faye-websocket')
const { loadNative } = require('./helpers/impl')
const { clientScenarios } = require('./helpers/client_scenarios')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const native = loadNative()
const table = clientScenarios.map((s) => [s.name, s])

const rows = [
  ['faye-websocket', faye, null],
  ['faye-websocket-native', native.module, native.error]
]

describe.each(rows)('%s Client', (_name, WebSocket, loadError) => {
  if (!WebSocket) {
    const reason = String(loadError && loadError.message).split('\n')[0].slice(0, 160)
    it.skip(`SKIPPED: require('../') failed (${reason}); build the addon to run this row`, () => {})
    return
  }

  it.each(table)('%s', async (_scenario, scenario) => {
    expect(await scenario.run(WebSocket.Client)).toEqual(scenario.expected)
  })
})

describe('faye-websocket and faye-websocket-native Clients agree', () => {
  if (!native.module) {
    it.skip('SKIPPED: the native module does not load yet', () => {})
    return
  }

  it.each(table)('%s', async (_scenario, scenario) => {
    const reference = await scenario.run(faye.Client)
    const ours = await scenario.run(native.module.Client)
    expect(ours).toEqual(reference)
  })
})
