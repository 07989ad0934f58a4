// HELD-OUT phrasings: wordings never used in training, for measuring whether the model answers a
// question asked in a way it has not seen. Nothing under src/ that builds training data imports this
// file (a test checks that, and that no held-out phrasing renders to a training phrasing).
import type { Phrasing } from './phrasings.js';

/** Held-out phrasing templates (same slots as the training ones). */
export const HELDOUT_PHRASINGS: readonly Phrasing[] = [
  { families: ['add', 'sub', 'mul', 'mod'], template: "What's {expr}?" },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'Evaluate {expr}.' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'Tell me what {words} equals' },
  { families: ['add', 'sub', 'mul', 'mod'], template: 'Help me with {expr}' },
  { families: ['add'], template: 'A shelf holds {a} books and {b} more arrive. How many books are on the shelf now?' },
  { families: ['add'], template: 'What do you get if you add {b} to {a}?' },
  { families: ['sub'], template: 'Take {b} away from {a}. What is left?' },
  { families: ['mul'], template: 'What is the product of {a} and {b}?' },
  { families: ['sort'], template: 'Arrange {list} from least to greatest.' },
  { families: ['sort'], template: 'Can you list {list} in ascending order?' },
  { families: ['countdown'], template: 'With {numbers}, reach {target} (each number once at most, + - * / allowed)' },
  { families: ['linear'], template: 'Solve {eq} for x.' },
];
