local t = {} for i = 1, 3 do t[i] = (i * 10) .. "s" end return { windows = t, analyses = { dir = ".", enable = { "total" } } }
