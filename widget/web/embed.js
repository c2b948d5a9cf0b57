// embed.js: see issue 4.
