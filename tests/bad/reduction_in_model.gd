model y = mean(m*x) + b
loss mean((y - Y)^2)
