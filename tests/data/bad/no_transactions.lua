return { description = 'nothing to run' }
