model y = m*x + b
loss (y - Y)^2
