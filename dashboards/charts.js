// Draws the report's charts from the embedded JSON (src/report/charts.ts ChartSpec). Runs offline
// in any browser with the inlined chart.js UMD build; sets window.mqbReady when every chart is
// drawn, which the PNG export and the browser test wait for.
;(function () {
  'use strict'
  var data = JSON.parse(document.getElementById('mqb-report-data').textContent)
  // Colour-blind safe (Okabe-Ito), then greys; a run keeps its colour in every chart.
  var palette = [
    '#0072B2',
    '#D55E00',
    '#009E73',
    '#CC79A7',
    '#E69F00',
    '#56B4E9',
    '#F0E442',
    '#000000',
    '#999999',
    '#666666',
  ]
  function color(i) {
    return palette[i % palette.length]
  }
  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16)
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')'
  }

  document.querySelectorAll('.swatch').forEach(function (el) {
    el.style.background = color(Number(el.getAttribute('data-color')))
  })

  // Confidence intervals as vertical bars with caps, from each point's low/high.
  var errorBars = {
    id: 'mqbErrorBars',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx
      var y = chart.scales.y
      chart.data.datasets.forEach(function (ds, i) {
        if (!ds.mqbErrorBars || !chart.isDatasetVisible(i)) return
        var meta = chart.getDatasetMeta(i)
        ctx.save()
        ctx.strokeStyle = ds.borderColor
        ctx.lineWidth = 1.5
        meta.data.forEach(function (el, j) {
          var p = ds.data[j]
          if (!p || p.low == null || p.high == null) return
          var top = y.getPixelForValue(p.high)
          var bottom = y.getPixelForValue(p.low)
          ctx.beginPath()
          ctx.moveTo(el.x, top)
          ctx.lineTo(el.x, bottom)
          ctx.moveTo(el.x - 5, top)
          ctx.lineTo(el.x + 5, top)
          ctx.moveTo(el.x - 5, bottom)
          ctx.lineTo(el.x + 5, bottom)
          ctx.stroke()
        })
        ctx.restore()
      })
    },
  }

  // An opaque background, so exported PNGs read on dark slides.
  var background = {
    id: 'mqbBackground',
    beforeDraw: function (chart) {
      var ctx = chart.ctx
      ctx.save()
      ctx.globalCompositeOperation = 'destination-over'
      ctx.fillStyle = '#ffffff'
      ctx.fillRect(0, 0, chart.width, chart.height)
      ctx.restore()
    },
  }

  function percentileTick(value) {
    var decades = Math.log10(value)
    if (Math.abs(decades - Math.round(decades)) > 1e-9) return ''
    var p = 100 * (1 - 1 / value)
    return Math.round(p * 10000) / 10000 + '%'
  }

  function dataset(spec, ds) {
    var c = color(ds.color)
    var out = {
      label: ds.label,
      borderColor: c,
      backgroundColor: spec.type === 'bar' ? alpha(c, 0.75) : c,
      borderDash: ds.dashed ? [6, 4] : [],
      pointRadius: spec.xScale === 'percentile' ? 0 : 3,
      borderWidth: 2,
      mqbErrorBars: Boolean(ds.errorBars),
    }
    if (spec.xScale === 'category') {
      out.data = ds.data.map(function (p) {
        return p.y
      })
      out.stack = ds.stack
      var flagged = ds.flagged || []
      out.borderColor = ds.data.map(function (_, k) {
        return flagged.indexOf(k) >= 0 ? '#000000' : c
      })
      out.borderWidth = ds.data.map(function (_, k) {
        return flagged.indexOf(k) >= 0 ? 2 : 0
      })
    } else {
      out.data = ds.data
      out.spanGaps = true
    }
    return out
  }

  function config(spec) {
    var x = {title: {display: true, text: spec.xLabel}}
    if (spec.xScale === 'linear') {
      x.type = 'linear'
      x.ticks = {stepSize: 1, precision: 0}
    } else if (spec.xScale === 'percentile') {
      x.type = 'logarithmic'
      x.min = 1
      x.ticks = {callback: percentileTick, autoSkip: false, maxRotation: 0}
    } else {
      x.type = 'category'
      x.stacked = Boolean(spec.stacked)
    }
    var y = {
      title: {display: true, text: spec.yLabel},
      type: spec.yScale || 'linear',
      stacked: Boolean(spec.stacked),
    }
    if (spec.yMin != null && y.type === 'linear') y.min = spec.yMin
    if (spec.yMax != null) y.max = spec.yMax
    // Make room for the top of the error bars, which chart.js does not know about.
    var highs = []
    spec.datasets.forEach(function (ds) {
      ds.data.forEach(function (p) {
        if (p.high != null) highs.push(p.high)
      })
    })
    if (highs.length && spec.yMax == null) y.suggestedMax = Math.max.apply(null, highs)
    return {
      type: spec.type,
      data: {
        labels: spec.categories,
        datasets: spec.datasets.map(function (ds) {
          return dataset(spec, ds)
        }),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: spec.xScale === 'category' ? undefined : {xAxisKey: 'x', yAxisKey: 'y'},
        interaction: {mode: 'nearest', intersect: false},
        scales: {x: x, y: y},
        plugins: {legend: {position: 'bottom'}, title: {display: false}},
      },
      plugins: [errorBars, background],
    }
  }

  var charts = {}
  data.charts.forEach(function (spec) {
    var canvas = document.getElementById('chart-' + spec.id)
    if (canvas) charts[spec.id] = new Chart(canvas, config(spec))
  })
  window.mqbCharts = charts
  window.mqbReady = true
})()
