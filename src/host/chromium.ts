// Where the browser that draws PNGs of a report is, and how it starts here: Debian's chromium,
// headless, without its background connections (a closed network refuses them by the dozen).
// A fact of the machine, read by report/png.ts and by the prerequisites table alike.
export const CHROMIUM_PATH = process.env.MQBENCH_CHROMIUM ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
]
