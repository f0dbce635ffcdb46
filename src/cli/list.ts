export async function main(_a: string[], _o: (t: string) => void, _e: (t: string) => void): Promise<number> { return 1; }
