// Public API of corpus building.
export { buildCorpus, writeCorpus, readCorpus, corpusTexts, summarize, manifestPath, type CorpusDocument, type CorpusManifest, type BuildCorpusOptions, type DocProblem, type Tally } from './corpus.js';
export { DataError } from './errors.js';
export { renderWorked, renderBare, renderText, renderPrompt, extractPlainAnswer, PROMPT_TEMPLATES, PLAIN_WORKED_TEMPLATE, BARE_TEMPLATE, TEXT_TEMPLATE, type DocFormat } from './formats.js';
export { loadRecipe, parseRecipe, RECIPE_DIR, type Recipe, type RecipeComponent } from './recipe.js';
export { countPreTokens, tokenCounter, type TokenCounter } from './token-count.js';
