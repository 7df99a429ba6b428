// Chart images for slides and tickets: the report is opened from disk in headless Chromium
// (Debian's chromium, driven by playwright-core) and every canvas is read back as a PNG at twice
// the CSS size. The page is the renderer, so the PNGs match what the HTML shows.
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {ExitCode, MqbError} from '../errors.js'
import {CHROMIUM_ARGS, CHROMIUM_PATH} from '../host/chromium.js'
import {ensureDir, writeFileAtomic} from '../host/files.js'

export async function exportPngs(htmlPath: string, dir: string): Promise<string[]> {
  // The directory first: a path that cannot take the PNGs fails before Chromium starts.
  ensureDir(dir)
  const {chromium} = await import('playwright-core')
  let browser
  try {
    browser = await chromium.launch({executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS})
  } catch (err) {
    throw new MqbError(
      `--png needs Chromium at ${CHROMIUM_PATH} (install Debian's chromium, or set MQBENCH_CHROMIUM): ${(err as Error).message.split('\n')[0]}`,
      ExitCode.unsupported,
    )
  }
  try {
    const context = await browser.newContext({
      viewport: {width: 1100, height: 900},
      deviceScaleFactor: 2,
      offline: true,
    })
    const page = await context.newPage()
    await page.goto(pathToFileURL(resolve(htmlPath)).href)
    await page.waitForFunction(
      () => (window as unknown as {mqbReady?: boolean}).mqbReady === true,
      undefined,
      {timeout: 15_000},
    )
    const images = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLCanvasElement>('canvas[data-chart]')].map((c) => ({
        id: c.dataset.chart!,
        url: c.toDataURL('image/png'),
      })),
    )
    return images.map(({id, url}) => {
      const file = join(dir, `${id}.png`)
      writeFileAtomic(file, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'))
      return file
    })
  } finally {
    await browser.close()
  }
}
