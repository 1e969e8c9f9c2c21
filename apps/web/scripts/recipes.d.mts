// Types of scripts/recipes.mjs for the TypeScript tests.
export declare const CLI_MAIN: string;
export declare const MODELS_STEERABLE: string;
export declare const MODEL_NAMES: readonly ['gmr-cnn', 'plain-cnn', 'gmr-steerable'];
export type Recipes = Record<(typeof MODEL_NAMES)[number], string>;
export declare function steerableRecipe(cliMain?: string, models?: string): string;
export declare function defaultRecipes(): Recipes;
export declare function usage(recipes: Recipes): string;
export declare function parseArgs(
  argv: string[],
  recipes?: Recipes,
): { help: true; recipes: Recipes } | { help?: undefined; recipes: Recipes; only: string[] };
