// A small TypeScript file to try completions on: put the cursor on the empty line in wordCounts and type.

export interface WordCount {
  word: string;
  count: number;
}

export function wordCounts(text: string, top = 10): WordCount[] {
  const counts = new Map<string, number>();
  for (const word of text.toLowerCase().match(/[a-z']+/g) ?? []) {
    
  }
  return [...counts.entries()]
    .map(([word, count]) => ({ word, count }))
    .sort((a, b) => b.count - a.count)
    .slice(0, top);
}
