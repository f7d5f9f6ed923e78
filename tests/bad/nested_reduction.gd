model y = m*x + b
loss mean(mean(y - Y)^2)
