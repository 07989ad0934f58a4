// Non-reasoning conversations for R1's stage 3 (the "~200k non-reasoning" share: greetings, who are
// you, what can you do, out-of-scope questions answered with an honest one-line limitation, thanks),
// the general prompts stage 4's reward model judges, and that reward model's chosen/rejected pairs.
// Replies to simple prompts carry an empty reasoning block, as R1's do ("for simpler queries, such as
// 'hello', we do not provide a CoT"). Prompts come in a TRAINING list and a HELD-OUT list (never
// used to build training data), per category.
import { Rng } from '../tasks/rng.js';

/** Kinds of general prompt. */
export type ChatCategory = 'greeting' | 'identity' | 'capabilities' | 'out_of_scope' | 'thanks';

/** A general (non-reasoning) prompt with its category. */
export interface GeneralPrompt {
  category: ChatCategory;
  text: string;
}

/**
 * The replies tinyseek gives, per category (several wordings, all honest). No two categories' replies
 * begin with the same word: a greedy decoder commits to a category with its first token, and a shared
 * start lets it slide into another category's words. Attempt 9 answered "What time is it?" with
 * "I'm tinyseek, I'm model. Ask me an arap   I can't answer that; …": identity's "I'm", capability's
 * "I can" and the limitation's "I can't" all began with "I". (Attempt 10, trained on these replies,
 * still garbled that prompt, inside the capability line instead: distinct first words remove one way
 * of mixing categories, not the failure; see docs/results/r1-mini-attempts.md. The tokenizer reads
 * "What time is it?" as "W h at ␣time ␣is ␣it ?", and " time" is otherwise only the start of
 * multiplication's "times", so the prompt looks like a problem. Attempt 11 answered it with the clean
 * limitation once out-of-scope rows were drawn more often; see generalCategoryShares.)
 */
export const REPLIES: Readonly<Record<ChatCategory, readonly string[]>> = {
  greeting: [
    "Hello! I'm tinyseek, a small reasoning model. Ask me an arithmetic question and I'll work it out step by step.",
    "Hi! I'm tinyseek. Give me a sum, a product, a list to sort or an equation, and I'll reason it through.",
  ],
  identity: [
    'My name is tinyseek: a tiny DeepSeek-R1-style model trained from scratch on a laptop CPU.',
    'My name is tinyseek, a very small model in the style of DeepSeek-R1, trained on arithmetic and simple puzzles.',
  ],
  capabilities: [
    'I can add, subtract and multiply numbers, take remainders, sort lists, solve linear equations and countdown puzzles, showing my reasoning.',
    'I do arithmetic, sorting, remainders, simple equations and countdown puzzles, and I show each step.',
  ],
  out_of_scope: [
    "Sorry, I can't help with that: I only know arithmetic, sorting and simple equations.",
    "Sorry, I can't answer that; I'm a tiny model that only does arithmetic, sorting and simple equations.",
  ],
  thanks: ["You're welcome!", 'Glad to help!'],
};

/**
 * Words of the held-out prompts that no training prompt may contain, so that the held-out set tests
 * wordings the model never saw rather than a near copy ("Summarize this email" would give away
 * "Summarize this article for me"). A test keeps the training lists free of them.
 */
export const HELDOUT_MARKERS = ['evening', 'hiya', 'how are you', 'robot', 'about yourself', 'able', 'topics', 'homework', 'joke', 'time', 'president', 'summar', 'article', 'cheers', 'a lot'];

/** The held-out markers a text contains (each matched from a word start, case-insensitive). */
export function heldoutMarkersIn(text: string): string[] {
  return HELDOUT_MARKERS.filter((m) => new RegExp(String.raw`\b${m}`, 'i').test(text));
}

/** Out-of-scope requests built from frames × subjects: many wordings, so the model learns the kind of request, not a list. */
function outOfScopePrompts(): string[] {
  const subjects = ['the sea', 'dogs', 'the moon', 'football', 'coffee', 'love', 'the Roman empire', 'music', 'my garden', 'space travel', 'cooking', 'climate change', 'philosophy', 'my cat'];
  const frames = [
    'Write a poem about {s}', 'Write a story about {s}', 'Tell me about {s}', 'Explain {s} to me', 'What do you think of {s}?',
    'Give me some facts about {s}', 'Describe {s}', 'Can you draw {s}?', 'Sing me a song about {s}', 'Teach me about {s}',
    'Give me advice on {s}', 'What is the history of {s}?', 'Write an essay on {s}', 'I want to learn about {s}', 'Do you like {s}?',
    // question forms a small model mistakes for problems ("Can you help me with …?", "What … is it?"):
    // attempt 7 answered held-out ones of these shapes with "The answer is N."
    'Can you help me with {s}?', 'What is the best thing about {s}?', 'How much do you know about {s}?',
  ];
  const texts = ['this email', 'my essay', 'this paragraph', 'this letter', 'my notes', 'this story'];
  const textFrames = ['Proofread {t}', 'Rewrite {t} to sound nicer', 'Translate {t} into French', 'Translate {t} into Spanish', 'Check the grammar of {t}', 'Make {t} shorter'];
  return [
    ...frames.flatMap((f) => subjects.map((x) => f.replace('{s}', x))),
    ...textFrames.flatMap((f) => texts.map((t) => f.replace('{t}', t))),
    'Book me a flight', 'Play some music', 'Set an alarm', 'Order a pizza', 'What should I eat for dinner?', 'Is it going to rain tomorrow?',
    'Who is the best footballer?', 'How tall is Mount Everest?', 'Can you write my essay?', 'Tell me the news', 'What is your favourite colour?',
    'How do I fix my bike?', 'Give me a recipe for soup', 'Where is Paris?', 'Which phone should I buy?', 'How do I learn to swim?',
    'What day is it?', 'What day is it today?', 'What year is it?', 'What season is it?', "What's the date today?", 'What month is it?',
    'Can you help me with my essay?', 'Can you help me with my email?', 'Can you help me with my project?', 'Can you help me move house?',
    'Who is the king of Spain?', 'Who wrote Hamlet?', 'What is the biggest city in the world?', 'How old is the universe?',
    ...problemFramesWithoutNumbers(),
  ];
}

/**
 * The frames of the arithmetic phrasings ("What is …?", "Calculate …", "Find …") and the arithmetic
 * words ("sum", "add", "solve", "sort", "count") with things in them that are not numbers. Every
 * problem the model trains on has numbers, so without these it learns the frame or the word as the
 * cue: attempts 7 and 8 answered held-out questions with a word the problems use ("sum" in
 * "Summarize …", "time(s)" in "What time is it?") with "The answer is N.".
 */
function problemFramesWithoutNumbers(): string[] {
  const things = ['the meaning of love', 'my taxes', 'the price of a car', 'my horoscope', 'the weight of the sun', 'the best pizza in town',
    'the way to the station', 'the plot of this film', 'the cost of a house', 'the secret of happiness', 'my future', 'the distance to Mars'];
  const frames = ['What is {c}?', 'Calculate {c}', 'Can you work out {c}?', 'How much is {c}?', 'Find {c}.', 'What does {c} equal?', 'Please solve {c}',
    'Quick question: {c}'];
  return [
    ...frames.flatMap((f) => things.map((c) => f.replace('{c}', c))),
    'Sum up this email', 'Sum up my notes', 'Sum up this story for me', 'Give me the gist of this paragraph', 'What is the sum of human knowledge?',
    'Add salt to my soup', 'Add me as a friend', 'Add this song to my playlist', 'Subtract the noise from this song', 'Multiply my money',
    'Sort out my room', 'Sort my emails', 'Sort my socks by colour', 'Solve my problems', 'Solve world hunger', 'Solve this riddle for me',
    'Count the stars in the sky', 'Count sheep with me', 'How many stars are there?', 'How many people live in China?', 'How much does a car cost?',
    'What is the difference between a cat and a dog?', 'What is the product of this company?', 'What is the answer to everything?',
    'What hour is it?', 'What week is it?', 'What song is it?', 'What film is it?', 'What colour is it?', 'What country is it?',
    'What is left of the Roman empire?', 'How many more days until summer?', 'Is it morning or night?',
  ];
}

/** Training prompts per category: a hand-written core, then more wordings of each kind. */
export const TRAIN_GENERAL: Readonly<Record<ChatCategory, readonly string[]>> = {
  greeting: [
    'Hello', 'Hi', 'hey', 'Hello, who are you?', 'Good morning', 'hi there!', 'Hey there', 'Hello!', 'Greetings',
    'Good afternoon', 'Howdy', 'Yo', 'hello again', 'Morning!', 'hi tinyseek', 'Hello tinyseek', 'Hey, anyone there?', "What's up?",
    'Hi, nice to meet you', 'Good day', 'Hello friend', 'hii', 'Hey you',
  ],
  identity: [
    'Who are you?', 'What is your name?', 'Are you ChatGPT?', 'who made you', 'What are you?', 'Are you a person?', 'Introduce yourself',
    'Who built you?', 'What model are you?', 'Are you DeepSeek?', 'Are you human?', 'What should I call you?', 'Who am I talking to?',
    'Are you an AI?', 'What are you called?', 'Where do you come from?', 'Do you have a name?', 'Who trained you?',
    'Tell me about you', 'Tell me who you are', 'Describe yourself', 'Tell me something about you', 'Say something about you',
    // "Tell me about {subject}" is an out-of-scope frame with 14 subjects: attempt 11, which drew categories
    // by the square root of their prompt counts, refused "Tell me about yourself"; the self-referent
    // versions of the frame get more than two wordings here
    'Tell me about tinyseek', 'Tell me a bit about you', 'Tell me more about you', 'Tell me about your name', 'Tell me about who made you',
    'Tell me about your model',
  ],
  capabilities: [
    'What can you do?', 'How can you help me?', 'What are you good at?', 'what kind of questions can you answer', 'Can you do math?', 'What should I ask you?',
    'What do you do?', 'Can you solve equations?', 'Can you sort numbers?', 'Can you help me with math?', 'Can you add numbers?',
    'What kinds of problems do you solve?', 'How do you work?', 'What are your skills?', 'Can you do arithmetic?', 'Help', 'help me',
    'What can I ask?', 'Show me what you can do', 'Are you good at sums?',
    // capability questions in the shapes of out-of-scope ones ("Can you help me with {subject}?",
    // "How much do you know about {subject}?"): attempt 8 refused held-out ones of these shapes
    'What subjects do you know?', 'What do you know?', 'What things do you know about?', 'Which questions can you answer?',
    'Can you help me with sums?', 'Can you help me with my maths?', 'Can you help me with numbers?', 'Can you help me with a problem?',
    'Can you help me with my math class?', 'What can you help with?', 'What kind of things can you do?', 'How much do you know about math?',
    // the same frame again (18 out-of-scope wordings against 6 here; attempt 11 refused a held-out one)
    'Can you help me with arithmetic?', 'Can you help me with sorting?', 'Can you help me with equations?', 'Can you help me with my maths test?',
    'Can you help me with my sums?', 'Can you help me with counting?',
  ],
  out_of_scope: [
    "What's the weather today?", 'Write a poem about the sea', 'Who won the world cup?', 'Translate hello to French', 'What is the capital of France?',
    'Tell me a story', 'What is the meaning of life?', 'Recommend a movie', 'How do I cook rice?', 'Write some Python code',
    ...outOfScopePrompts().filter((t) => t !== 'Write a poem about the sea'),
  ],
  thanks: [
    'Thanks!', 'thank you', 'Thank you so much', 'thx', 'Great, thanks',
    'Thanks', 'Thank you!', 'ty', 'thanks so much', 'Much appreciated', 'That was helpful, thank you', 'Perfect, thanks!', 'Awesome, thank you',
    'Nice, thanks', 'Thank you very much', 'ok thanks',
  ],
};

/** Held-out prompts per category: never used to build training data or reward-model training pairs. */
export const HELDOUT_GENERAL: Readonly<Record<ChatCategory, readonly string[]>> = {
  greeting: ['Good evening!', 'Hiya', 'Hello there, how are you?'],
  identity: ["Hey, what's your name?", 'Are you a robot?', 'Tell me about yourself'],
  capabilities: ['What are you able to do?', 'What topics do you know?', 'Can you help me with homework?'],
  out_of_scope: ['Can you tell me a joke?', 'What time is it?', 'Who is the president of France?', 'Summarize this article for me'],
  thanks: ['Thanks a lot!', 'Cheers, that helped'],
};

/** Every word the replies use (lower case): the vocabulary a clean general reply is written in. */
export function replyVocabulary(): Set<string> {
  return new Set(Object.values(REPLIES).flat().join(' ').toLowerCase().match(/[a-z']+/g) ?? []);
}

/** All categories in a fixed order. */
export const CATEGORIES: readonly ChatCategory[] = ['greeting', 'identity', 'capabilities', 'out_of_scope', 'thanks'];

/** Every prompt of a list, with its category. */
export function generalPrompts(list: Readonly<Record<ChatCategory, readonly string[]>>): GeneralPrompt[] {
  return CATEGORIES.flatMap((category) => list[category].map((text) => ({ category, text })));
}

/** The reply (summary only) to a general prompt: a reply of its category. */
export function generalReply(category: ChatCategory, rng: Rng): string {
  return rng.pick(REPLIES[category]);
}

/** A general response in R1's format: an empty reasoning block, then the reply. */
export function generalResponse(reply: string): string {
  return `<think>\n\n</think>\n\n${reply}`;
}

/** A preference pair for the reward model: the same prompt, a better and a worse final answer. */
export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
  /**
   * What is wrong with the rejected answer: empty, another category's reply, a bare number, a stutter,
   * a garble, a misspelling, leaked reasoning, or (for a prompt the model can answer) the out-of-scope
   * refusal.
   */
  kind: 'empty' | 'off_topic' | 'number' | 'repetition' | 'garbled' | 'misspelled' | 'leaked' | 'refusal';
}

/** A garbled variant of a reply: its words shuffled and some letters dropped. */
function garble(text: string, rng: Rng): string {
  return rng.shuffle(text.split(' ')).map((w) => (w.length > 3 && rng.chance(0.5) ? w.slice(0, -2) : w)).join(' ');
}

/** A misspelled variant: letters dropped inside most words and some words run together (how a tiny model garbles text). */
function misspell(text: string, rng: Rng): string {
  return text.split(' ').map((w) => (w.length > 2 && rng.chance(0.7) ? w.slice(0, rng.int(1, w.length - 1)) : w)).join(rng.chance(0.5) ? ' ' : '');
}

/**
 * The rejected kinds, per prompt category, in the order pairs cycle through them. A prompt the model
 * can answer (a greeting, who-are-you, what-can-you-do, thanks) has the refusal as a rejected answer
 * in two slots of nine, so that over the four such categories the refusal is rejected about as often
 * as it is chosen (every out-of-scope pair chooses it): with it only chosen, a linear reward model
 * learns the refusal's words as good in themselves and GRPO answers every general prompt with it
 * (attempt 6 of the R1 mini pipeline). An out-of-scope prompt has two more off-topic slots instead.
 */
export function rejectedKinds(category: ChatCategory): PreferencePair['kind'][] {
  const common: PreferencePair['kind'][] = ['empty', 'off_topic', 'number', 'repetition', 'garbled', 'misspelled', 'leaked'];
  return category === 'out_of_scope' ? [...common, 'off_topic', 'off_topic'] : [...common, 'refusal', 'refusal'];
}

/**
 * Chosen/rejected pairs over a prompt list: the chosen answer is a reply of the prompt's category;
 * the rejected one is one of `rejectedKinds` — the ways a small model fails a general prompt.
 * Categories are balanced: every category present gets the same number of pairs
 * (round(perPrompt × prompts / categories)), the kinds cycled and its prompts taken in turn, shifted
 * by one every cycle so that a prompt meets different kinds. (Out-of-scope requests come in far more
 * wordings than greetings: pairs per prompt would make the refusal the reply a reward model likes best.)
 */
export function preferencePairs(prompts: readonly GeneralPrompt[], perPrompt: number, seed: number): PreferencePair[] {
  const rng = new Rng(seed);
  const present = CATEGORIES.filter((c) => prompts.some((p) => p.category === c));
  const perCategory = Math.round((perPrompt * prompts.length) / Math.max(1, present.length));
  const out: PreferencePair[] = [];
  for (const category of present) {
    const own = prompts.filter((p) => p.category === category);
    const kinds = rejectedKinds(category);
    const others = CATEGORIES.filter((c) => c !== category && (category === 'out_of_scope' || c !== 'out_of_scope'));
    for (let j = 0; j < perCategory; j++) {
      const p = own[(j + Math.floor(j / kinds.length)) % own.length]!;
      const chosen = generalReply(category, rng);
      const kind = kinds[j % kinds.length]!;
      let rejected: string;
      switch (kind) {
        case 'empty': rejected = ''; break;
        case 'off_topic': rejected = generalReply(rng.pick(others), rng); break;
        case 'refusal': rejected = generalReply('out_of_scope', rng); break;
        case 'number': rejected = `The answer is ${rng.int(0, 999)}.`; break;
        case 'repetition': { const w = rng.pick(chosen.split(' ').slice(0, 4)); rejected = Array.from({ length: rng.int(3, 8) }, () => w).join(' '); break; }
        case 'garbled': rejected = garble(chosen, rng); break;
        case 'misspelled': rejected = misspell(chosen, rng); break;
        default: rejected = `${chosen.split(' ').slice(0, 3).join(' ')} </think> add column by column`;
      }
      out.push({ prompt: p.text, chosen, rejected, kind });
    }
  }
  return out;
}
