// Word problems composed from parts: who or where, what is counted, what happens, what is asked. A
// handful of fixed stories ("I have 3 apples and get 4 more") teaches the model those stories; a
// newcomer writes others ("A van carries 12 crates and 5 more are loaded…"). Composing the story from
// interchangeable parts gives hundreds of wordings of the same two operations, so what the model can
// learn is the operation, not the sentence. The parts never include the held-out stories' words
// (phrasings-heldout.ts: a shelf, books, "arrive", "take … away"; a test checks it).

// Stryker disable StringLiteral,ArrayDeclaration: the parts below are data, not logic; what must hold of them (no held-out word, both numbers kept, the question asked) is tested
/** Things that are counted. */
const ITEMS = ['apples', 'marbles', 'pencils', 'ducks', 'cars', 'flowers', 'shells', 'cookies', 'toys', 'chairs', 'fish', 'stamps', 'balloons', 'eggs', 'coins'] as const;

/** Places that hold them: how the story opens, and where the question looks. */
const PLACES = [
  ['A basket has', 'in the basket'], ['A box holds', 'in the box'], ['A garden has', 'in the garden'], ['A pond has', 'in the pond'],
  ['A room has', 'in the room'], ['A van carries', 'in the van'], ['A drawer holds', 'in the drawer'], ['A store has', 'in the store'],
  ['There are', 'there'], ['A bag contains', 'in the bag'],
] as const;

/** People who own them (name, pronoun). */
const PEOPLE = [['Ana', 'she'], ['Tom', 'he'], ['Priya', 'she'], ['Omar', 'he'], ['Kai', 'he'], ['Lena', 'she'], ['Jo', 'she'], ['Max', 'he']] as const;

/** What makes a place hold more, and fewer. */
const PLACE_MORE = ['more are added', 'more are put in', 'more come in', 'more are brought in', 'more join them'] as const;
const PLACE_FEWER = ['are removed', 'are carried out', 'are sold', 'are given away', 'are lost'] as const;
/** What makes a person have more, and fewer. */
const PERSON_MORE = ['gets', 'buys', 'finds', 'is given', 'collects'] as const;
const PERSON_FEWER = ['gives away', 'loses', 'sells', 'uses', 'trades'] as const;

/** How the question is asked (place stories; person stories ask about the person). */
const PLACE_ASK_MORE = ['How many {items} are {where} now?', 'How many {items} are there in total?', 'What is the total number of {items}?'] as const;
const PLACE_ASK_FEWER = ['How many {items} are {where} now?', 'How many {items} are left?', 'How many {items} remain?'] as const;
// Stryker restore StringLiteral,ArrayDeclaration

/** A deterministic pick from a list by the story's key and a salt per part (an integer hash, so the parts vary independently). */
function pick<T>(list: readonly T[], key: number, salt: number): T {
  let h = (key ^ Math.imul(salt, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return list[((h ^ (h >>> 16)) >>> 0) % list.length]!;
}

const fill = (t: string, v: Record<string, string>) => t.replace(/\{(\w+)\}/g, (_, k: string) => v[k] ?? '');

/**
 * A word problem whose answer is a + b (`more`) or a − b (fewer; the caller keeps a ≥ b). `key`
 * chooses the parts (the same key, the same story), so a problem always reads the same way.
 */
export function story(a: number, b: number, op: 'more' | 'fewer', key: number): string {
  const items = pick(ITEMS, key, 1);
  if (pick([0, 1], key, 2) === 0) {
    const [open, where] = pick(PLACES, key, 3);
    const ask = fill(pick(op === 'more' ? PLACE_ASK_MORE : PLACE_ASK_FEWER, key, 4), { items, where });
    const happen = op === 'more' ? `and ${b} ${pick(PLACE_MORE, key, 5)}` : `and ${b} ${pick(PLACE_FEWER, key, 5)}`;
    return `${open} ${a} ${items} ${happen}. ${ask}`;
  }
  const [name, pron] = pick(PEOPLE, key, 6);
  const verb = pick(op === 'more' ? PERSON_MORE : PERSON_FEWER, key, 7);
  const ask = op === 'more' ? `How many ${items} does ${name} have now?` : `How many ${items} does ${name} have left?`;
  const more = op === 'more' ? ` ${b} more` : ` ${b}`;
  return `${name} has ${a} ${items}. Then ${pron} ${verb}${more}. ${ask}`;
}

/** Every part a story may use (for the test that keeps the held-out stories' words out). */
export const STORY_PARTS: readonly string[] = [
  ...ITEMS, ...PLACES.flat(), ...PEOPLE.flat(), ...PLACE_MORE, ...PLACE_FEWER, ...PERSON_MORE, ...PERSON_FEWER, ...PLACE_ASK_MORE, ...PLACE_ASK_FEWER,
];
