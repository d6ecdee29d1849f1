'use strict'
// The benchmark's chart: throughput relative to ws, as a hand-written SVG (no
// dependencies; plain shapes and sans-serif text, so that browsers and GitHub render it).
//
//   node benchmark/chart.js benchmark/results/latest.json > chart.svg
//
// One group of horizontal bars per cell of the throughput sections (server echo, wss,
// broadcast, client echo), one bar per target: its median rate relative to ws, paired
// per repetition (ws itself is 1.0, the vertical reference line). Where a section has
// no plain ws target (wss), bars are relative to ws+bufferutil, and the heading says so.
// Bars beyond the axis are cut with a zigzag and keep their value printed.

const COLORS = { native: '#e4572e', ws: '#4c78a8', 'ws+bufferutil': '#72b7b2', faye: '#b279a2', floor: '#54a24b', ceiling: '#9a9a9a' }
const FALLBACK_COLORS = ['#54a24b', '#eeca3b', '#ff9da6', '#9d755d']
const WIDTH = 960
const LABEL_X = 16 // left edge of cell labels
const PLOT_X = 300 // where ratio 0 is
const PLOT_W = 560
const BAR_H = 10
const BAR_GAP = 2
const GROUP_GAP = 10
const MAX_AXIS = 4 // ratios above this are cut

const escape = (text) => String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])

function text (x, y, content, attrs = '') {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(content)}</text>`
}

// The value a bar shows, or the word to print instead of it.
function barValue (section, cell, target, reference) {
  const entry = cell.targets && cell.targets[target]
  if (!entry) return { missing: 'not run' }
  if (entry.skipped) return { missing: entry.skipped.startsWith('n/a') ? 'n/a' : 'skipped' }
  const s = entry.summary
  if (!s || s.ok === 0) return { missing: 'error' }
  if (target === reference) return { value: 1 }
  const value = reference === 'ws' ? s.vs_ws : s.vs_ws_bufferutil
  return value === null || value === undefined ? { missing: `no ${reference}` } : { value }
}

/**
 * Renders the results of benchmark/run.js (the object written to latest.json) as an
 * SVG document, returned as a string.
 */
function renderChart (results) {
  const sections = (results.sections || []).filter((s) => s.cells && s.cells.length)
  const targets = []
  for (const s of sections) for (const t of s.targets) if (!targets.includes(t)) targets.push(t)
  const color = (t) => COLORS[t] || FALLBACK_COLORS[targets.indexOf(t) % FALLBACK_COLORS.length]

  // The axis: up to the largest ratio shown, at most MAX_AXIS, in steps of 0.5.
  let largest = 1
  for (const s of sections) {
    const reference = s.targets.includes('ws') ? 'ws' : 'ws+bufferutil'
    for (const c of s.cells) for (const t of s.targets) { const v = barValue(s, c, t, reference).value; if (v > largest) largest = v }
  }
  const axisMax = Math.min(MAX_AXIS, Math.ceil(largest * 1.05 * 2) / 2)
  const step = axisMax > 2 ? 1 : 0.5
  const xOf = (v) => PLOT_X + (Math.min(v, axisMax) / axisMax) * PLOT_W

  const body = []
  let y = 92 // below the title, subtitle and legend
  for (const s of sections) {
    const reference = s.targets.includes('ws') ? 'ws' : 'ws+bufferutil'
    y += 22
    body.push(text(LABEL_X, y, `${s.title}${reference === 'ws' ? '' : ' (relative to ws+bufferutil)'}`, 'font-size="14" font-weight="bold" fill="#222"'))
    y += 16
    for (let v = 0; v <= axisMax + 1e-9; v += step) {
      body.push(text(xOf(v), y, `${Number(v.toFixed(1))}×`, 'font-size="10" fill="#777" text-anchor="middle"'))
    }
    y += 8
    const top = y
    for (const c of s.cells) {
      const bars = s.targets.map((t) => barValue(s, c, t, reference))
      if (bars.every((b) => b.missing)) {
        // Nothing to draw: one line saying why (the first target's reason).
        const entry = c.targets && c.targets[s.targets[0]]
        const why = c.skipped ? `skipped: ${c.skipped}` : (entry && entry.skipped) || bars[0].missing
        body.push(text(LABEL_X + 8, y + BAR_H, c.name, 'font-size="12" fill="#333"'))
        body.push(text(PLOT_X + 4, y + BAR_H - 1, why.length > 100 ? `${why.slice(0, 99)}…` : why, 'font-size="9.5" fill="#888" font-style="italic"'))
        y += BAR_H + 2 + GROUP_GAP
        continue
      }
      const height = s.targets.length * (BAR_H + BAR_GAP) - BAR_GAP
      body.push(text(LABEL_X + 8, y + height / 2 + 4, c.name, 'font-size="12" fill="#333"'))
      s.targets.forEach((t, i) => {
        const by = y + i * (BAR_H + BAR_GAP)
        const bar = bars[i]
        if (bar.missing) {
          body.push(text(PLOT_X + 4, by + BAR_H - 1, `${t}: ${bar.missing}`, 'font-size="9" fill="#888" font-style="italic"'))
          return
        }
        const x2 = xOf(bar.value)
        const cut = bar.value > axisMax
        body.push(`<rect x="${PLOT_X}" y="${by}" width="${(x2 - PLOT_X).toFixed(1)}" height="${BAR_H}" fill="${color(t)}"><title>${escape(`${t}: ${bar.value.toFixed(2)} × ${reference}`)}</title></rect>`)
        if (cut) body.push(`<path d="M${x2 - 6} ${by - 1} l4 ${(BAR_H + 2) / 3} l-4 ${(BAR_H + 2) / 3} l4 ${(BAR_H + 2) / 3}" stroke="#fff" stroke-width="2" fill="none"/>`)
        // A white outline keeps the value legible where it crosses a grid line.
        body.push(text(x2 + 4, by + BAR_H - 1, bar.value.toFixed(2), 'font-size="9.5" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke"'))
      })
      y += height + GROUP_GAP
    }
    // Grid and the reference line, drawn first so that they lie under the bars.
    const grid = []
    for (let v = 0; v <= axisMax + 1e-9; v += step) {
      const x = xOf(v)
      grid.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${y - GROUP_GAP + 4}" stroke="${v === 0 ? '#999' : '#e4e4e4'}" stroke-width="1"/>`)
    }
    grid.push(`<line x1="${xOf(1)}" y1="${top - 4}" x2="${xOf(1)}" y2="${y - GROUP_GAP + 4}" stroke="#333" stroke-width="1.2" stroke-dasharray="4 3"/>`)
    body.unshift(...grid)
  }
  // The axis labels, at the bottom.
  y += 6
  const ticks = []
  for (let v = 0; v <= axisMax + 1e-9; v += step) {
    ticks.push(text(xOf(v), y + 10, `${Number(v.toFixed(1))}×`, 'font-size="11" fill="#555" text-anchor="middle"'))
  }
  ticks.push(text(PLOT_X + PLOT_W / 2, y + 28, `throughput relative to ${targets.includes('ws') ? 'ws' : 'the reference'} (dashed line: ${targets.includes('ws') ? 'ws' : 'reference'} = 1.0; higher is better)`, 'font-size="11" fill="#555" text-anchor="middle"'))
  const height = y + 44

  const m = results.machine || {}
  const date = String(results.date || '').slice(0, 10)
  const subtitle = [m.cpus && `${m.cpus} × ${m.cpu}`, m.node && `Node ${m.node}`, m.commit && `commit ${m.commit}`, date].filter(Boolean).join(' · ')
  const options = results.options || {}
  const method = `median of ${options.repeat || '?'} run${options.repeat === 1 ? '' : 's'} of ${options.seconds || '?'} s per target and cell (fewer for 1,000 connections and 1 MiB messages); ratios paired per run`
  const legend = []
  let lx = LABEL_X
  for (const t of targets) {
    legend.push(`<rect x="${lx}" y="66" width="12" height="12" fill="${color(t)}"/>`, text(lx + 17, 76, t, 'font-size="12" fill="#333"'))
    lx += 32 + t.length * 6.4
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    text(LABEL_X, 26, 'faye-websocket-native: throughput relative to ws', 'font-size="18" font-weight="bold" fill="#111"'),
    text(LABEL_X, 46, subtitle, 'font-size="12" fill="#555"'),
    text(LABEL_X, 60, method, 'font-size="11" fill="#777"'),
    ...legend,
    ...body,
    ...ticks,
    '</svg>',
    ''
  ].join('\n')
}

module.exports = { renderChart }

if (require.main === module) {
  const file = process.argv[2]
  if (!file) {
    console.error('usage: node benchmark/chart.js results.json > chart.svg')
    process.exit(2)
  }
  process.stdout.write(renderChart(JSON.parse(require('fs').readFileSync(file, 'utf8'))))
}
