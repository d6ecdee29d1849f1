'use strict'

// Parity: the same raw-peer scenarios run against faye-websocket 0.11.4 and
// this package. Each row must produce the expected sequence (server events +
// frames on the wire + handshake status), and the two rows must produce
// identical sequences. Cases where this package is intentionally stricter
// are excluded here (see server_stricter.spec.js).

const faye = require('faye-websocket')
const { loadNative } = require('./helpers/impl')
const S = require('./helpers/scenarios')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const native = loadNative()

const scenarios = [
  ...S.conversations,
  ...S.closeEchoes.filter((s) => /code (1000|1001|1011|3000|4999) /.test(s.name)),
  ...S.protocolErrors,
  ...S.refusals
]
const table = scenarios.map((s) => [s.name, s])

const rows = [
  ['faye-websocket', faye, null],
  ['faye-websocket-native', native.module, native.error]
]

describe.each(rows)('%s', (_name, WebSocket, loadError) => {
  if (!WebSocket) {
    const reason = String(loadError && loadError.message).split('\n')[0].slice(0, 160)
    it.skip(`SKIPPED: require('../') failed (${reason}); build the addon to run this row`, () => {})
    return
  }

  it.each(table)('%s', async (_scenario, scenario) => {
    expect(await S.runScenario(WebSocket, scenario)).toEqual(scenario.expected)
  })
})

describe('faye-websocket and faye-websocket-native agree', () => {
  if (!native.module) {
    it.skip('SKIPPED: the native module does not load yet', () => {})
    return
  }

  it.each(table)('%s', async (_scenario, scenario) => {
    const reference = await S.runScenario(faye, scenario)
    const ours = await S.runScenario(native.module, scenario)
    expect(ours).toEqual(reference)
  })
})
