// embed.d.ts: see issue 4.
