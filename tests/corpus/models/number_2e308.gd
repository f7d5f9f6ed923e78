model y = m*x + 2e308*b
loss mean((y - Y)^2)
