return { transactions = { { name = 'a', weight = -1, run = function(w) end } } }
