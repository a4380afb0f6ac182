return { options = { rows = { default = 10, min = 1, help = 'rows' } }, run = function(w) end }
