#!/usr/bin/env -S node --import tsx
// Runs the commands straight from src/ (no tsc step); oclif maps dist/ to src/ in development mode.
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
