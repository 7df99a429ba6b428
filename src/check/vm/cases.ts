// The table of `check vm` cases, in the order they run. Each case lives in its own
// file under src/check/vm/cases/ and is listed here once; `--cases` selects by id.
import {bootCase} from './cases/boot.js'
import {genCase} from './cases/gen.js'
import {hotplugCase} from './cases/hotplug.js'
import {migrationCase} from './cases/migration.js'
import {defaultStateCase} from './cases/default-state.js'
import {vectorsCase} from './cases/vectors.js'
import {negativeCase} from './cases/negative.js'
import {churnCase, churnLongCase} from './cases/churn.js'
import {affinityCase} from './cases/affinity.js'
import {mqOffCase} from './cases/mq-off.js'
import {vectorsNomsiCase} from './cases/vectors-nomsi.js'
import {negativeQemuCase} from './cases/negative-qemu.js'
import {hotplugRepeatCase} from './cases/hotplug-repeat.js'
import {queuesMaxCase} from './cases/queues-max.js'
import {multiNicCase} from './cases/multi-nic.js'
import {mqCase, mqPackedCase, mqPackedRssCase, mqRssCase} from './cases/mq.js'
import {setLinkCase} from './cases/set-link.js'
import {stressCase, stressPackedCase} from './cases/stress.js'
import type {VmCase} from './types.js'

export const CASES: VmCase[] = [
  bootCase,
  mqCase,
  migrationCase,
  setLinkCase,
  hotplugCase,
  genCase,
  stressCase,
  defaultStateCase,
  vectorsCase,
  negativeCase,
  churnCase,
  affinityCase,
  mqOffCase,
  mqPackedCase,
  mqRssCase,
  mqPackedRssCase,
  stressPackedCase,
  churnLongCase,
  vectorsNomsiCase,
  negativeQemuCase,
  hotplugRepeatCase,
  queuesMaxCase,
  multiNicCase,
]
