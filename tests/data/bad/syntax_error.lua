return { run = function(w) w.db:exec( end }
