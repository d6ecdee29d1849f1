'use strict'

// Everything a test opens registers its closer here; `afterEach(closeAll)`
// tears it all down (peers and clients first, then servers) so Jest exits
// with no open handles.

const closers = []

function track (closer, order = 0) {
  closers.push({ closer, order })
}

async function closeAll () {
  const pending = closers.splice(0).sort((a, b) => a.order - b.order)
  const errors = []
  for (const { closer } of pending) {
    try {
      await closer()
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length) throw errors[0]
}

module.exports = { track, closeAll }
